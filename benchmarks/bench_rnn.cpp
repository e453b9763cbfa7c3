// Training step (forward over T, MSE on a per-step linear readout, backward; no
// optimizer) of a 1-layer tanh RNN, three ways in one binary:
//   tape      nn::RNN + nn::Linear on the tape
//   hand      the hand-derived BPTT (nn/elman_bptt), no autograd
//   ops_loop  a loop of primitive ops on the tape (what a user's custom cell costs)
// Arguments: B, T, H (= I). Each row reports GFLOP/s of the matmul FLOPs.
#include <benchmark/benchmark.h>

#include <rewind/rewind.hpp>

namespace {

using namespace rwd;

// Matmul FLOPs of one training step: forward x Uᵀ, h Wᵀ, h Vᵀ (O = 1), backward twice that.
double step_flops(double B, double T, double H) { return 3.0 * 2.0 * T * B * (H * H + H * H + H); }

template <class T>
void set_flops(benchmark::State& state, std::size_t B, std::size_t steps, std::size_t H) {
  state.counters["GFLOPs"] = benchmark::Counter(step_flops(B, steps, H) * static_cast<double>(state.iterations()) / 1e9,
                                                benchmark::Counter::kIsRate);
}

template <class T>
void tape(benchmark::State& state) {
  const auto B = static_cast<std::size_t>(state.range(0)), steps = static_cast<std::size_t>(state.range(1)),
             H = static_cast<std::size_t>(state.range(2));
  Generator gen(1);
  nn::RNN<T> rnn(nn::RecurrentOptions{.input_size = H, .hidden_size = H}, gen);
  nn::Linear<T> head(H, 1, true, gen);
  const auto x = randn<T>({steps, B, H}, gen);
  const auto y = randn<T>({steps, B, 1}, gen);
  for (auto _ : state) {
    auto loss = nn::mse_loss(head.forward(rnn.forward(x).output), y);
    loss.backward();
    rnn.zero_grad();
    head.zero_grad();
  }
  set_flops<T>(state, B, steps, H);
}

template <class T>
void hand(benchmark::State& state) {
  const auto B = static_cast<std::size_t>(state.range(0)), steps = static_cast<std::size_t>(state.range(1)),
             H = static_cast<std::size_t>(state.range(2));
  Generator gen(1);
  nn::ElmanModel<T> model;
  model.layers.push_back({uniform<T>({H, H}, -0.1, 0.1, gen).value(), uniform<T>({H, H}, -0.1, 0.1, gen).value(),
                          uniform<T>({H}, -0.1, 0.1, gen).value(), nn::ElmanActivation::tanh});
  model.readout = nn::ElmanReadout<T>{uniform<T>({1, H}, -0.1, 0.1, gen).value(), uniform<T>({1}, -0.1, 0.1, gen).value()};
  const xt::xarray<T> x = randn<T>({steps, B, H}, gen).value();
  const xt::xarray<T> y = randn<T>({steps, B, 1}, gen).value();
  nn::BpttOptions options;
  options.input_grad = false;  // the tape's x needs no gradient either
  for (auto _ : state) {
    auto trace = nn::elman_forward(model, x);
    auto loss = nn::elman_mse_loss(trace.o, y);
    auto grads = nn::elman_backward(model, x, trace, loss.grad, options);
    benchmark::DoNotOptimize(grads.layers[0].W.data());
  }
  set_flops<T>(state, B, steps, H);
}

template <class T>
void ops_loop(benchmark::State& state) {
  const auto B = static_cast<std::size_t>(state.range(0)), steps = static_cast<std::size_t>(state.range(1)),
             H = static_cast<std::size_t>(state.range(2));
  Generator gen(1);
  auto w_ih = uniform<T>({H, H}, -0.1, 0.1, gen, true), w_hh = uniform<T>({H, H}, -0.1, 0.1, gen, true);
  auto b = uniform<T>({H}, -0.1, 0.1, gen, true), v = uniform<T>({1, H}, -0.1, 0.1, gen, true);
  std::vector<Tensor<T>> xs, ys;
  for (std::size_t t = 0; t < steps; ++t) {
    xs.push_back(randn<T>({B, H}, gen));
    ys.push_back(randn<T>({B, 1}, gen));
  }
  for (auto _ : state) {
    Tensor<T> h = zeros<T>({B, H});
    Tensor<T> loss = Tensor<T>::scalar(0);
    for (std::size_t t = 0; t < steps; ++t) {
      h = tanh(linear(xs[t], w_ih, b) + matmul(h, w_hh, false, true));
      loss = loss + mean(pow(matmul(h, v, false, true) - ys[t], T(2)));
    }
    (loss * (T(1) / static_cast<T>(steps))).backward();
    for (auto* p : {&w_ih, &w_hh, &b, &v}) p->zero_grad();
  }
  set_flops<T>(state, B, steps, H);
}

void configurations(benchmark::internal::Benchmark* bench) {
  for (long B : {1, 32})
    for (long T : {50, 200})
      for (long H : {32, 128, 512}) {
        if (B == 32 && T == 200 && H == 512) continue;  // minutes per row on 2 cores; run with a filter if wanted
        bench->Args({B, T, H});
      }
  bench->ArgNames({"B", "T", "H"})->Unit(benchmark::kMillisecond);
}

}  // namespace

BENCHMARK(tape<float>)->Apply(configurations);
BENCHMARK(hand<float>)->Apply(configurations);
BENCHMARK(ops_loop<float>)->Apply(configurations);
BENCHMARK(tape<double>)->Args({32, 50, 128})->ArgNames({"B", "T", "H"})->Unit(benchmark::kMillisecond);
BENCHMARK(hand<double>)->Args({32, 50, 128})->ArgNames({"B", "T", "H"})->Unit(benchmark::kMillisecond);
