// The sequence model `rewind train` fits, and the built-in tasks it fits it on.
//
// Model: a recurrent layer "rnn" (torch.nn.RNN / LSTM / GRU, time-major) and a
// Linear readout "head" applied at every step:
//   h_t = rnn(x_t, h_{t-1}),   o_t = h_t Vᵀ + c
// so named_parameters() are PyTorch's: rnn.weight_ih_l0 ... head.weight, head.bias,
// and a checkpoint loads into `nn.Module` with the same two attributes.
// (Kept in one file; app-grads has a sibling, the lead may unify them.)
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

namespace rwd::app {

enum class ModelKind { rnn, lstm, gru };

inline std::string model_kind_name(ModelKind kind) {
  return kind == ModelKind::rnn ? "rnn" : kind == ModelKind::lstm ? "lstm" : "gru";
}

template <class T>
// (app/sequence_model.hpp has the same rnn + head model for `rewind grads`/`graph`; the two
// are to be unified. Distinct names keep the one-definition rule.)
class TrainingModel : public nn::Module<T> {
 public:
  TrainingModel(ModelKind kind, std::size_t input_size, std::size_t hidden_size, std::size_t num_layers,
                std::size_t output_size, Generator& gen)
      : kind_(kind) {
    nn::RecurrentOptions options{.input_size = input_size, .hidden_size = hidden_size, .num_layers = num_layers};
    if (kind == ModelKind::rnn)
      rnn_ = this->register_module("rnn", std::make_shared<nn::RNN<T>>(options, gen));
    else if (kind == ModelKind::lstm)
      rnn_ = this->register_module("rnn", std::make_shared<nn::LSTM<T>>(options, gen));
    else
      rnn_ = this->register_module("rnn", std::make_shared<nn::GRU<T>>(options, gen));
    head_ = this->register_module("head", std::make_shared<nn::Linear<T>>(hidden_size, output_size, true, gen));
  }

  struct Output {
    Tensor<T> output;         // [T, B, O]: o_t at every step
    nn::CellState<T> state;   // the recurrent state after the last step (h_n, and c_n for an LSTM)
  };
  // x [T, B, I]; state: empty (zeros) or what a previous call returned.
  Output forward(const Tensor<T>& x, const nn::CellState<T>& state = {}) {
    auto out = rnn_->forward(x, state);
    return {head_->forward(out.output), out.final_state};
  }

  ModelKind kind() const { return kind_; }
  nn::Recurrent<T>& rnn() { return *rnn_; }
  nn::Linear<T>& head() { return *head_; }
  std::string type_name() const override { return "TrainingModel"; }

 private:
  ModelKind kind_;
  std::shared_ptr<nn::Recurrent<T>> rnn_;
  std::shared_ptr<nn::Linear<T>> head_;
};

// ---- built-in tasks: generated in memory, one fresh batch per step -----------
// Each batch is drawn from its own Generator(seed, step), so step s sees the same
// data whether the run started at 0 or resumed at s (bit-for-bit --resume).

enum class TaskKind { sine, adding, files };

template <class T>
struct Batch {
  Tensor<T> x;                         // [T, B, I]
  Tensor<T> y;                         // regression targets: [T, B, O] (sine) or [B, 1] (adding, last step only)
  std::vector<std::int64_t> classes;   // cross-entropy targets, t-major [T·B] (files with --loss cross_entropy)
};

inline std::uint64_t batch_seed(std::uint64_t seed, std::uint64_t step) {
  return seed * 0x9E3779B97F4A7C15ULL + step * 0xBF58476D1CE4E5B9ULL + 1;
}

// Sine: x_t = sin(ω t + φ), target x_{t+1}; ω ~ U(0.1, 0.4) and φ ~ U(0, 2π)
// per sequence, so the model must infer the frequency from what it has seen.
template <class T>
Batch<T> sine_batch(std::size_t length, std::size_t batch, std::uint64_t seed, std::uint64_t step) {
  Generator gen(batch_seed(seed, step));
  xt::xarray<T> x = xt::zeros<T>({length, batch, std::size_t{1}}), y = x;
  for (std::size_t b = 0; b < batch; ++b) {
    const double omega = 0.1 + 0.3 * gen.next_unit(), phi = 2 * std::numbers::pi * gen.next_unit();
    for (std::size_t t = 0; t < length; ++t) {
      x(t, b, 0) = static_cast<T>(std::sin(omega * double(t) + phi));
      y(t, b, 0) = static_cast<T>(std::sin(omega * double(t + 1) + phi));
    }
  }
  return {Tensor<T>(x), Tensor<T>(y), {}};
}

// The adding problem (Hochreiter & Schmidhuber 1997): x_t = (u_t, m_t), u_t ~ U(0, 1),
// m_t = 1 at two random steps (one in each half) and 0 elsewhere; the target,
// read at the last step only, is the sum of the two marked u_t. Predicting the
// mean (1.0) gives MSE ≈ 1/6; solving it gives ≈ 0.
template <class T>
Batch<T> adding_batch(std::size_t length, std::size_t batch, std::uint64_t seed, std::uint64_t step) {
  Generator gen(batch_seed(seed, step));
  xt::xarray<T> x = xt::zeros<T>({length, batch, std::size_t{2}});
  xt::xarray<T> y = xt::zeros<T>({batch, std::size_t{1}});
  const std::size_t half = length / 2;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t t = 0; t < length; ++t) x(t, b, 0) = static_cast<T>(gen.next_unit());
    const auto first = static_cast<std::size_t>(gen.next_unit() * double(half));
    const auto second = half + static_cast<std::size_t>(gen.next_unit() * double(length - half));
    x(first, b, 1) = 1;
    x(second, b, 1) = 1;
    y(b, 0) = x(first, b, 0) + x(second, b, 0);
  }
  return {Tensor<T>(x), Tensor<T>(y), {}};
}

}  // namespace rwd::app
