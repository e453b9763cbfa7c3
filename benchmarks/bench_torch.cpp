// The same training steps with libtorch's C++ API, in the same run and with as
// many threads as Rewind's BLAS (REWIND_BENCH_THREADS, default 1)
// (only with -DREWIND_WITH_LIBTORCH=ON):
//   torch           torch::nn::RNN / LSTM / GRU + torch::nn::Linear, mse_loss
//   torch_ops_loop  the cell's equations as a loop of torch ops per timestep
// and the tiny-op chain (tiny/f32/…/torch). Rows pair with the tape rows by name.
#include "bench_common.hpp"

#ifdef REWIND_WITH_LIBTORCH
#include <torch/torch.h>

namespace rwd::bench {

namespace {

template <class T>
torch::Dtype torch_dtype() {
  return sizeof(T) == 4 ? torch::kFloat32 : torch::kFloat64;
}

// torch::nn::RNN / LSTM / GRU (1 layer, tanh) + Linear(H, 1), MSE over [T, B, 1].
template <class T>
class TorchLayerModel {
 public:
  TorchLayerModel(Cell cell, Config c) : cell_(cell), head_(c.H, 1) {
    torch::manual_seed(1);
    if (cell == Cell::rnn) rnn_ = torch::nn::RNN(torch::nn::RNNOptions(c.H, c.H));
    if (cell == Cell::lstm) lstm_ = torch::nn::LSTM(torch::nn::LSTMOptions(c.H, c.H));
    if (cell == Cell::gru) gru_ = torch::nn::GRU(torch::nn::GRUOptions(c.H, c.H));
    for (auto m : modules()) m->to(torch_dtype<T>());
    x_ = torch::randn({c.T, c.B, c.H}, torch_dtype<T>());
    y_ = torch::randn({c.T, c.B, 1}, torch_dtype<T>());
  }
  void step() {
    torch::Tensor h = cell_ == Cell::rnn    ? std::get<0>(rnn_->forward(x_))
                      : cell_ == Cell::lstm ? std::get<0>(lstm_->forward(x_))
                                            : std::get<0>(gru_->forward(x_));
    torch::mse_loss(head_->forward(h), y_).backward();
    for (auto m : modules()) m->zero_grad();
  }

 private:
  std::vector<torch::nn::Module*> modules() {
    std::vector<torch::nn::Module*> out{head_.get()};
    if (cell_ == Cell::rnn) out.push_back(rnn_.get());
    if (cell_ == Cell::lstm) out.push_back(lstm_.get());
    if (cell_ == Cell::gru) out.push_back(gru_.get());
    return out;
  }
  Cell cell_;
  torch::nn::Linear head_;
  torch::nn::RNN rnn_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::Tensor x_, y_;
};

// The equations of bench_models.hpp's OpsLoopModel, with torch ops.
template <class T>
class TorchOpsLoopModel {
 public:
  TorchOpsLoopModel(Cell cell, Config c) : cell_(cell), B_(c.B), H_(c.H) {
    torch::manual_seed(1);
    const long gH = static_cast<long>(cell_gates(cell)) * c.H;
    const double bound = 1.0 / std::sqrt(double(c.H));
    auto param = [&](std::vector<long> shape) {
      return torch::empty(shape, torch_dtype<T>()).uniform_(-bound, bound).requires_grad_(true);
    };
    w_ih_ = param({gH, c.H});
    w_hh_ = param({cell == Cell::mgu ? c.H : gH, c.H});
    u_f_ = param({c.H, c.H});
    b_ih_ = param({gH});
    b_hh_ = param({gH});
    v_ = param({1, c.H});
    c_ = param({1});
    for (long t = 0; t < c.T; ++t) {
      xs_.push_back(torch::randn({c.B, c.H}, torch_dtype<T>()));
      ys_.push_back(torch::randn({c.B, 1}, torch_dtype<T>()));
    }
  }
  void step() {
    torch::Tensor h = torch::zeros({B_, H_}, torch_dtype<T>()), cell_state = torch::zeros_like(h);
    torch::Tensor loss = torch::zeros({}, torch_dtype<T>());
    for (std::size_t t = 0; t < xs_.size(); ++t) {
      const torch::Tensor gi = torch::linear(xs_[t], w_ih_, b_ih_);
      if (cell_ == Cell::mgu) {
        const auto x_part = gi.chunk(2, 1);
        const auto f = torch::sigmoid(x_part[0] + torch::matmul(h, u_f_.t()));
        const auto candidate = torch::tanh(x_part[1] + torch::matmul(f * h, w_hh_.t()));
        h = (1 - f) * h + f * candidate;
        loss = loss + torch::mse_loss(torch::linear(h, v_, c_), ys_[t]);
        continue;
      }
      const torch::Tensor gh = torch::linear(h, w_hh_, b_hh_);
      if (cell_ == Cell::rnn) {
        h = torch::tanh(gi + gh);
      } else if (cell_ == Cell::lstm) {
        const auto gates = (gi + gh).chunk(4, 1);
        cell_state = torch::sigmoid(gates[1]) * cell_state + torch::sigmoid(gates[0]) * torch::tanh(gates[2]);
        h = torch::sigmoid(gates[3]) * torch::tanh(cell_state);
      } else {
        const auto i = gi.chunk(3, 1), g = gh.chunk(3, 1);
        const auto r = torch::sigmoid(i[0] + g[0]), z = torch::sigmoid(i[1] + g[1]);
        const auto n = torch::tanh(i[2] + r * g[2]);
        h = (1 - z) * n + z * h;
      }
      loss = loss + torch::mse_loss(torch::linear(h, v_, c_), ys_[t]);
    }
    (loss / static_cast<double>(xs_.size())).backward();
    for (auto* p : {&w_ih_, &w_hh_, &u_f_, &b_ih_, &b_hh_, &v_, &c_}) p->mutable_grad() = torch::Tensor();
  }

 private:
  Cell cell_;
  long B_, H_;
  torch::Tensor w_ih_, w_hh_, u_f_, b_ih_, b_hh_, v_, c_;
  std::vector<torch::Tensor> xs_, ys_;
};

template <class T, class Model>
void training_step(benchmark::State& state, Cell cell, Config c) {
  Model model(cell, c);
  const double start = timer_seconds();
  for (auto _ : state) model.step();
  report_flops<T>(state, step_flops(cell, c), timer_seconds() - start);
}

void tiny_op_chain(benchmark::State& state, long side) {
  torch::manual_seed(1);
  auto x = torch::randn({side, side}).requires_grad_(true);
  const auto factor = torch::full({side, side}, 1.0001f);
  time_tiny_chain(
      state,
      [&] {
        torch::Tensor y = x;
        for (int i = 0; i < tiny_chain_length; ++i) y = y * factor;
        return y.sum();
      },
      [](torch::Tensor& loss) { loss.backward(); }, [&] { x.mutable_grad() = torch::Tensor(); });
}

template <class T>
void register_type(Cell cell) {
  for (const Config& c : configurations(cell, sizeof(T) == 8)) {
    benchmark::RegisterBenchmark(row_name(cell, dtype_name<T>(), c, "torch").c_str(),
                                 training_step<T, TorchLayerModel<T>>, cell, c)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(row_name(cell, dtype_name<T>(), c, "torch_ops_loop").c_str(),
                                 training_step<T, TorchOpsLoopModel<T>>, cell, c)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

void register_torch() {
  torch::set_num_threads(thread_count());
  for (Cell cell : {Cell::rnn, Cell::lstm, Cell::gru}) {
    register_type<float>(cell);
    register_type<double>(cell);
  }
  for (const Config& c : configurations(Cell::mgu, false))
    benchmark::RegisterBenchmark(row_name(Cell::mgu, "f32", c, "torch_ops_loop").c_str(),
                                 training_step<float, TorchOpsLoopModel<float>>, Cell::mgu, c)
        ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("tiny/f32/1x1/torch", tiny_op_chain, 1L)->UseManualTime()->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("tiny/f32/4x4/torch", tiny_op_chain, 4L)->UseManualTime()->Unit(benchmark::kMicrosecond);
}

}  // namespace rwd::bench

#else
namespace rwd::bench {
void register_torch() {}
}  // namespace rwd::bench
#endif
