// The tutorial docs/your-own-cell.md, end to end: a new recurrent cell
// (IndRNN, examples/indrnn_cell.hpp) written as ops, then
//   1. gradient-checked against finite differences, through nn::Recurrent;
//   2. compared, time step by time step, with a BPTT derived by hand;
//   3. trained with optim::Adam on next-value prediction of sine waves;
//   4. saved as .npz under PyTorch-style names, and loaded back;
//   5. timed against the built-in RNN, LSTM and GRU layers.
// Exits non-zero if a check fails (a wrong gradient, no learning, a bad
// reload); the timings are printed, never asserted.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <numbers>
#include <vector>

#include <rewind/rewind.hpp>

#include "indrnn_cell.hpp"

using namespace rwd;

// ---- the model: one IndRNN layer (any number works) and a linear readout ----

template <class T>
class IndRNNModel : public nn::Module<T> {
 public:
  IndRNNModel(std::size_t input_size, std::size_t hidden_size, Generator& gen)
      : rnn_(this->register_module("rnn", make_rnn(input_size, hidden_size, gen))),
        head_(this->register_module("head", std::make_shared<nn::Linear<T>>(hidden_size, 1, true, gen))) {}

  std::string type_name() const override { return "IndRNNModel"; }
  // x [T, B, I] -> o [T, B, 1]
  Tensor<T> forward(const Tensor<T>& x) { return head_->forward(rnn_->forward(x).output); }
  const IndRNNCell<T>& cell() const { return dynamic_cast<const IndRNNCell<T>&>(rnn_->cell(0)); }
  const nn::Linear<T>& head() const { return *head_; }

 private:
  static std::shared_ptr<nn::Recurrent<T>> make_rnn(std::size_t input_size, std::size_t hidden_size, Generator& gen) {
    return std::make_shared<nn::Recurrent<T>>(
        nn::RecurrentOptions{.input_size = input_size, .hidden_size = hidden_size},
        [&](std::size_t layer_input) { return std::make_shared<IndRNNCell<T>>(layer_input, hidden_size, gen); });
  }
  std::shared_ptr<nn::Recurrent<T>> rnn_;
  std::shared_ptr<nn::Linear<T>> head_;
};

// ---- 1. gradcheck: the tape against central differences ----
//
// gradcheck hands f fresh copies of its inputs and perturbs those, so f must
// compute from its argument: here a cell made from in[1..3] (shared, not
// copied), unrolled over 6 steps by nn::Recurrent. The readout is a built-in
// Linear, checked elsewhere; step 2 covers its gradients too.
bool check_against_finite_differences() {
  Generator gen(1);
  const std::size_t input_size = 3, hidden_size = 4;
  const IndRNNCell<double> drawn(input_size, hidden_size, gen);
  const TensorD x = randn<double>({6, 2, input_size}, gen, /*requires_grad=*/true);  // [T, B, I]
  const auto unrolled = [&](const std::vector<TensorD>& in) {
    nn::Recurrent<double> rnn({.input_size = input_size, .hidden_size = hidden_size},
                              [&](std::size_t) { return std::make_shared<IndRNNCell<double>>(in[1], in[2], in[3]); });
    return rnn.forward(in[0]).output;
  };
  GradcheckOptions options;
  options.name = "IndRNN over 6 steps";
  options.input_names = {"x", "W", "u", "b"};
  const auto report = gradcheck<double>(unrolled, {x, drawn.weight_ih(), drawn.weight_hh(), drawn.bias()}, options);
  std::printf("%s\n", report.to_string().c_str());
  return report.passed();
}

// ---- 2. the hand-derived BPTT, and the tape's gradients step by step ----
//
// Forward, for t = 1..T (row b of the batch, unit j):
//   a_t = x_t Wᵀ + b + u ⊙ h_{t-1},  h_t = relu(a_t),  o_t = h_t Vᵀ + c,
//   L = 1/(T·B·O) Σ_t Σ (o_t - y_t)²                      (nn::mse_loss's mean)
// Backward, t = T..1, with dL/do_t = 2 (o_t - y_t) / (T·B·O):
//   dL/dh_t = dL/do_t V + u ⊙ δ_{t+1}       (the second term is 0 at t = T)
//   δ_t     = relu'(a_t) ⊙ dL/dh_t
//   dL/dW = Σ_t δ_tᵀ x_t,  dL/du = Σ_t Σ_b δ_t ⊙ h_{t-1},  dL/db = Σ_t Σ_b δ_t
//   dL/dV = Σ_t dL/do_tᵀ h_t,  dL/dc = Σ_t Σ_b dL/do_t
// Unlike an Elman RNN's Wᵀ δ_{t+1}, the recurrence u ⊙ δ_{t+1} involves no
// matrix: each unit's gradient flows back through time on its own.

struct HandBptt {
  xt::xarray<double> W, u, b, V, c;    // gradients, shaped as the parameters
  std::vector<xt::xarray<double>> dh;  // dL/dh_t [B, H], t = 1..T (index t-1)
};

HandBptt hand_bptt(const xt::xarray<double>& x, const xt::xarray<double>& y, const IndRNNModel<double>& model) {
  const auto &W = model.cell().weight_ih().value(), &u = model.cell().weight_hh().value(),
             &b = model.cell().bias().value(), &V = model.head().parameter("weight").value(),
             &c = model.head().parameter("bias").value();
  const std::size_t T = x.shape(0), B = x.shape(1), I = x.shape(2), H = u.size(), O = c.size();
  xt::xarray<double> a = xt::zeros<double>({T, B, H}), h = xt::zeros<double>({T + 1, B, H}),
                     go = xt::zeros<double>({T, B, O});
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t n = 0; n < B; ++n) {
      for (std::size_t j = 0; j < H; ++j) {
        double sum = b(j) + u(j) * h(t, n, j);
        for (std::size_t i = 0; i < I; ++i) sum += W(j, i) * x(t, n, i);
        a(t, n, j) = sum;
        h(t + 1, n, j) = std::max(sum, 0.0);
      }
      for (std::size_t k = 0; k < O; ++k) {
        double o = c(k);
        for (std::size_t j = 0; j < H; ++j) o += V(k, j) * h(t + 1, n, j);
        go(t, n, k) = 2 * (o - y(t, n, k)) / static_cast<double>(T * B * O);
      }
    }
  HandBptt g{xt::zeros_like(W), xt::zeros_like(u), xt::zeros_like(b),
             xt::zeros_like(V), xt::zeros_like(c), std::vector<xt::xarray<double>>(T)};
  xt::xarray<double> carry = xt::zeros<double>({B, H});  // u ⊙ δ_{t+1}
  for (std::size_t t = T; t-- > 0;) {
    g.dh[t] = xt::zeros<double>({B, H});
    for (std::size_t n = 0; n < B; ++n)
      for (std::size_t j = 0; j < H; ++j) {
        double dh = carry(n, j);
        for (std::size_t k = 0; k < O; ++k) {
          dh += go(t, n, k) * V(k, j);
          g.V(k, j) += go(t, n, k) * h(t + 1, n, j);
        }
        const double delta = a(t, n, j) > 0 ? dh : 0.0;
        for (std::size_t i = 0; i < I; ++i) g.W(j, i) += delta * x(t, n, i);
        g.u(j) += delta * h(t, n, j);
        g.b(j) += delta;
        g.dh[t](n, j) = dh;
        carry(n, j) = u(j) * delta;
      }
    for (std::size_t n = 0; n < B; ++n)
      for (std::size_t k = 0; k < O; ++k) g.c(k) += go(t, n, k);
  }
  return g;
}

// max |a - b| / max(max |b|, tiny): one relative error per compared tensor.
double relative_error(const xt::xarray<double>& a, const xt::xarray<double>& b) {
  return xt::amax(xt::abs(a - b))() / std::max(xt::amax(xt::abs(b))(), 1e-300);
}

bool check_against_hand_bptt() {
  Generator gen(2);
  IndRNNModel<double> model(3, 5, gen);
  const std::size_t T = 8;
  const TensorD x = randn<double>({T, 2, 3}, gen), y = randn<double>({T, 2, 1}, gen);

  // The tape, unrolled by hand so that every h_t is a tensor we can ask for
  // its gradient (nn::Recurrent runs the same step() calls).
  const auto& cell = model.cell();
  const TensorD p = cell.project_input(x);  // [T, B, H]
  TensorD h = zeros<double>({2, 5});
  std::vector<TensorD> hs;
  for (std::size_t t = 0; t < T; ++t) {
    h = cell.step(select(p, 0, t), {h})[0];
    h.retain_grad();  // keep dL/dh_t, the total: from o_t and from h_{t+1}
    hs.push_back(h);
  }
  nn::mse_loss(model.head().forward(stack(hs, 0)), y).backward();

  const HandBptt hand = hand_bptt(x.value(), y.value(), model);
  const double tolerance = 1e-12;
  bool ok = true;
  std::printf("dL/dh_t, tape vs hand-derived BPTT (relative error, tolerance %.0e):\n", tolerance);
  for (std::size_t t = T; t-- > 0;) {
    const double error = relative_error(hs[t].grad().value(), hand.dh[t]);
    std::printf("  t = %zu  |dL/dh_t| max %.3e  error %.2e%s\n", t + 1, xt::amax(xt::abs(hand.dh[t]))(), error,
                error <= tolerance ? "" : "  WRONG");
    ok = ok && error <= tolerance;
  }
  const std::vector<std::pair<const char*, std::pair<TensorD, const xt::xarray<double>*>>> params{
      {"rnn.cell_l0.weight_ih (W)", {cell.weight_ih(), &hand.W}},
      {"rnn.cell_l0.weight_hh (u)", {cell.weight_hh(), &hand.u}},
      {"rnn.cell_l0.bias (b)", {cell.bias(), &hand.b}},
      {"head.weight (V)", {model.head().parameter("weight"), &hand.V}},
      {"head.bias (c)", {model.head().parameter("bias"), &hand.c}}};
  for (const auto& [name, pair] : params) {
    const double error = relative_error(pair.first.grad().value(), *pair.second);
    std::printf("  %-27s error %.2e%s\n", name, error, error <= tolerance ? "" : "  WRONG");
    ok = ok && error <= tolerance;
  }
  return ok;
}

// ---- 3. training with optim ----

// B sine waves with random phases: x = s_0..s_{T-1}, y = s_1..s_T.
template <class T>
std::pair<Tensor<T>, Tensor<T>> sine_batch(std::size_t steps, std::size_t batch, Generator& gen) {
  const auto phase = uniform<T>({batch}, T(0), T(2) * std::numbers::pi_v<T>, gen).value();
  xt::xarray<T> x = xt::zeros<T>({steps, batch, std::size_t{1}}), y = x;
  for (std::size_t t = 0; t < steps; ++t)
    for (std::size_t n = 0; n < batch; ++n) {
      x(t, n, 0) = std::sin(T(0.3) * static_cast<T>(t) + phase(n));
      y(t, n, 0) = std::sin(T(0.3) * static_cast<T>(t + 1) + phase(n));
    }
  return {Tensor<T>(x), Tensor<T>(y)};
}

bool train(IndRNNModel<double>& model, Generator& gen) {
  optim::Adam<double> adam(model.parameters(), {.lr = 1e-2});
  double first = 0, last = 0;
  const int steps = 150;
  for (int step = 0; step < steps; ++step) {
    const auto [x, y] = sine_batch<double>(30, 8, gen);
    adam.zero_grad();
    const TensorD loss = nn::mse_loss(model.forward(x), y);
    loss.backward();
    optim::clip_grad_norm_(model.parameters(), 1.0);
    adam.step();
    (step == 0 ? first : last) = loss.item();
    if ((step + 1) % 50 == 0) std::printf("  step %3d  loss %.5f\n", step + 1, loss.item());
  }
  // A network that learned the wave beats the "next = this" guess (≈ 0.044).
  const bool ok = last < first / 5 && last < 0.02;
  std::printf("loss %.5f -> %.5f over %d Adam steps: %s\n", first, last, steps, ok ? "learned" : "DID NOT LEARN");
  return ok;
}

// ---- 4. save as .npz (numpy.load and PyTorch read it), load into a fresh model ----

bool save_and_reload(IndRNNModel<double>& model, Generator& gen) {
  const std::filesystem::path path = "your_own_cell.npz";
  nn::save_state_dict(model, path);
  std::printf("wrote %s:", path.c_str());
  for (const auto& [name, tensor] : model.named_parameters())
    std::printf(" %s %s", name.c_str(), format_shape(tensor.shape()).c_str());
  std::printf("\n");

  IndRNNModel<double> fresh(1, 16, gen);  // other random weights ...
  nn::load_state_dict(fresh, path);       // ... replaced by the saved ones
  const auto [x, y] = sine_batch<double>(30, 4, gen);
  NoGradGuard no_grad;
  const bool same = xt::all(xt::equal(model.forward(x).value(), fresh.forward(x).value()));
  std::printf("reloaded model's predictions: %s\n", same ? "identical" : "DIFFERENT");
  return same;
}

// ---- 5. timing against the built-in layers (printed, never asserted) ----

// Median milliseconds of CPU time of this thread over `repeats` calls, after
// one warm-up call (CPU time: other processes on the machine do not count;
// run with OPENBLAS_NUM_THREADS=1 so that all the work is on this thread).
double median_ms(const std::function<void()>& run, int repeats = 7) {
  const auto now_ms = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
  };
  run();
  std::vector<double> ms;
  for (int r = 0; r < repeats; ++r) {
    const double start = now_ms();
    run();
    ms.push_back(now_ms() - start);
  }
  std::nth_element(ms.begin(), ms.begin() + repeats / 2, ms.end());
  return ms[repeats / 2];
}

// One training step's forward + MSE + backward of `layer` and a readout.
template <class Layer>
std::function<void()> training_step(Layer& layer, nn::Linear<float>& head, const TensorF& x, const TensorF& y) {
  return [&layer, &head, x, y] {
    auto output = layer.forward(x).output;
    nn::mse_loss(head.forward(output), y).backward();
  };
}

void benchmark(std::size_t batch, std::size_t steps, std::size_t hidden) {
  Generator gen(5);
  const TensorF x = randn<float>({steps, batch, hidden}, gen), y = randn<float>({steps, batch, 1}, gen);
  const nn::RecurrentOptions options{.input_size = hidden, .hidden_size = hidden};
  nn::Recurrent<float> indrnn(options,
                              [&](std::size_t in) { return std::make_shared<IndRNNCell<float>>(in, hidden, gen); });
  nn::RNN<float> rnn(options, gen);
  nn::LSTM<float> lstm(options, gen);
  nn::GRU<float> gru(options, gen);
  nn::Linear<float> head(hidden, 1, true, gen);
  std::printf("training step (forward, MSE, backward), float, B=%zu T=%zu H=I=%zu, CPU ms, median of 7:\n", batch,
              steps, hidden);
  const std::vector<std::pair<const char*, std::function<void()>>> layers{
      {"IndRNN (your cell, ops)", training_step(indrnn, head, x, y)},
      {"nn::RNN (fused)", training_step(rnn, head, x, y)},
      {"nn::LSTM (fused)", training_step(lstm, head, x, y)},
      {"nn::GRU (fused)", training_step(gru, head, x, y)}};
  for (const auto& layer : layers) layer.second();  // warm up all four before timing any
  std::vector<double> ms;
  for (const auto& layer : layers) ms.push_back(median_ms(layer.second));
  for (std::size_t k = 0; k < layers.size(); ++k)
    std::printf("  %-24s %8.3f ms  %5.2fx nn::RNN\n", layers[k].first, ms[k], ms[k] / ms[1]);
}

int main() {
  std::printf("== 1. gradcheck\n");
  const bool gradcheck_ok = check_against_finite_differences();
  std::printf("\n== 2. tape vs hand-derived BPTT\n");
  const bool bptt_ok = check_against_hand_bptt();
  std::printf("\n== 3. training\n");
  Generator gen(3);
  IndRNNModel<double> model(1, 16, gen);
  std::printf("%s\n", model.to_string().c_str());
  const bool train_ok = train(model, gen);
  std::printf("\n== 4. save and reload\n");
  const bool reload_ok = save_and_reload(model, gen);
  std::printf("\n== 5. timing\n");
  benchmark(32, 50, 128);
  const bool ok = gradcheck_ok && bptt_ok && train_ok && reload_ok;
  std::printf("\n%s\n", ok ? "all checks passed" : "a check FAILED");
  return ok ? 0 : 1;
}
