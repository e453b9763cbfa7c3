// The training steps the time and memory benchmarks run, one class per way of
// computing it. Each holds its parameters and data; forward() returns what the
// step keeps alive until backward (the loss, or the hand BPTT's trace), step()
// runs a whole training step (forward, loss, backward; no optimizer).
#pragma once

#include <cmath>
#include <optional>
#include <vector>

#include <rewind/autograd/tape_memory.hpp>
#include <rewind/rewind.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

// Each row starts as a fresh program would: the tape's caches emptied, not
// holding buffers of the sizes earlier rows used (the cache is bounded, and
// a cache filled by other sizes sent this row's arrays to malloc).
inline void start_row() { detail::release_cached_memory(); }

// nn::RNN / nn::LSTM / nn::GRU + nn::Linear(H, 1) on the tape, MSE over [T, B, 1].
template <class T>
class RnnTapeModel {
 public:
  // checkpoint_segment and lengths: RecurrentOptions::checkpoint_segment and forward's lengths.
  RnnTapeModel(Cell cell, Config c, bool fused = true, std::size_t checkpoint_segment = 0,
               std::vector<std::size_t> lengths = {})
      : cell_(cell),
        gen_(1),
        options_{.input_size = std::size_t(c.H),
                 .hidden_size = std::size_t(c.H),
                 .fused = fused,
                 .checkpoint_segment = checkpoint_segment},
        lengths_(std::move(lengths)),
        head_(std::size_t(c.H), 1, true, gen_),
        x_(randn<T>({std::size_t(c.T), std::size_t(c.B), std::size_t(c.H)}, gen_)),
        y_(randn<T>({std::size_t(c.T), std::size_t(c.B), 1}, gen_)) {
    if (cell == Cell::rnn) rnn_.emplace(options_, gen_);
    if (cell == Cell::lstm) lstm_.emplace(options_, gen_);
    if (cell == Cell::gru) gru_.emplace(options_, gen_);
  }
  Tensor<T> forward() {
    Tensor<T> h = cell_ == Cell::rnn ? rnn_->forward(x_, Tensor<T>(), lengths_).output
                  : cell_ == Cell::lstm ? lstm_->forward(x_, Tensor<T>(), Tensor<T>(), lengths_).output
                                        : gru_->forward(x_, Tensor<T>(), lengths_).output;
    return nn::mse_loss(head_.forward(h), y_);
  }
  void step() {
    forward().backward();
    zero_grad();
  }

 private:
  void zero_grad() {
    head_.zero_grad();
    if (rnn_) rnn_->zero_grad();
    if (lstm_) lstm_->zero_grad();
    if (gru_) gru_->zero_grad();
  }
  Cell cell_;
  Generator gen_;
  nn::RecurrentOptions options_;
  std::vector<std::size_t> lengths_;
  nn::Linear<T> head_;
  std::optional<nn::RNN<T>> rnn_;  // exactly one of the three holds the layer
  std::optional<nn::LSTM<T>> lstm_;
  std::optional<nn::GRU<T>> gru_;
  Tensor<T> x_, y_;
};

// The hand-derived BPTT (bptt/elman_bptt): tanh RNN + readout, no autograd.
template <class T>
class HandModel {
 public:
  explicit HandModel(Config c) : gen_(1) {
    const auto B = std::size_t(c.B), steps = std::size_t(c.T), H = std::size_t(c.H);
    model_.layers.push_back({uniform<T>({H, H}, -0.1, 0.1, gen_).value(), uniform<T>({H, H}, -0.1, 0.1, gen_).value(),
                             uniform<T>({H}, -0.1, 0.1, gen_).value(), bptt::ElmanActivation::tanh});
    model_.readout =
        bptt::ElmanReadout<T>{uniform<T>({1, H}, -0.1, 0.1, gen_).value(), uniform<T>({1}, -0.1, 0.1, gen_).value()};
    x_ = randn<T>({steps, B, H}, gen_).value();
    y_ = randn<T>({steps, B, 1}, gen_).value();
    options_.input_grad = false;  // the tape's x needs no gradient either
  }
  bptt::ElmanTrace<T> forward() const { return bptt::elman_forward(model_, x_); }
  void step() {
    auto trace = forward();
    auto loss = bptt::elman_mse_loss(trace.o, y_);
    auto grads = bptt::elman_backward(model_, x_, trace, loss.grad, options_);
    benchmark::DoNotOptimize(grads.layers[0].W.data());
  }

 private:
  Generator gen_;
  bptt::ElmanModel<T> model_;
  xt::xarray<T> x_, y_;
  bptt::BpttOptions options_;
};

// A loop of primitive ops on the tape, one timestep at a time: the cell's
// equations (nn/rnn_cell.hpp, lstm_cell.hpp, gru_cell.hpp, and the example's
// minimal gated unit) written out with linear/matmul/slice/sigmoid/tanh, and
// the readout + MSE per step.
template <class T>
class OpsLoopModel {
 public:
  OpsLoopModel(Cell cell, Config c) : cell_(cell), gen_(1), B_(std::size_t(c.B)), H_(std::size_t(c.H)) {
    const std::size_t gH = std::size_t(cell_gates(cell)) * H_;
    const T bound = T(1) / std::sqrt(T(H_));
    w_ih_ = uniform<T>({gH, H_}, -bound, bound, gen_, true);
    w_hh_ = uniform<T>({cell == Cell::mgu ? H_ : gH, H_}, -bound, bound, gen_, true);  // mgu: U_h
    u_f_ = uniform<T>({H_, H_}, -bound, bound, gen_, cell == Cell::mgu);
    b_ih_ = uniform<T>({gH}, -bound, bound, gen_, true);
    b_hh_ = uniform<T>({gH}, -bound, bound, gen_, true);
    v_ = uniform<T>({1, H_}, -bound, bound, gen_, true);
    c_ = uniform<T>({1}, -bound, bound, gen_, true);
    for (long t = 0; t < c.T; ++t) {
      xs_.push_back(randn<T>({B_, H_}, gen_));
      ys_.push_back(randn<T>({B_, 1}, gen_));
    }
  }
  Tensor<T> forward() {
    Tensor<T> h = zeros<T>({B_, H_}), cell_state = zeros<T>({B_, H_});
    Tensor<T> loss = Tensor<T>::scalar(0);
    for (std::size_t t = 0; t < xs_.size(); ++t) {
      const Tensor<T> gi = linear(xs_[t], w_ih_, b_ih_);
      if (cell_ == Cell::mgu) {
        // examples/minimal_gated_unit.hpp's step (its bias b_ih; b_hh unused):
        // f = σ(x W_fᵀ + b_f + h U_fᵀ), h̃ = tanh(x W_hᵀ + b_h + (f ⊙ h) U_hᵀ), h' = (1 - f) ⊙ h + f ⊙ h̃
        const auto x_part = split(gi, {H_, H_}, 1);
        const Tensor<T> f = sigmoid(x_part[0] + matmul(h, u_f_, false, true));
        const Tensor<T> candidate = tanh(x_part[1] + matmul(f * h, w_hh_, false, true));
        h = (T(1) - f) * h + f * candidate;
        loss = loss + mean(pow(linear(h, v_, c_) - ys_[t], T(2)));
        continue;
      }
      const Tensor<T> gh = linear(h, w_hh_, b_hh_);
      if (cell_ == Cell::rnn) {
        h = tanh(gi + gh);  // h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)
      } else if (cell_ == Cell::lstm) {
        const Tensor<T> gates = gi + gh;  // i, f, g, o
        const Tensor<T> i = sigmoid(block(gates, 0)), f = sigmoid(block(gates, 1)), g = tanh(block(gates, 2)),
                        o = sigmoid(block(gates, 3));
        cell_state = f * cell_state + i * g;  // c' = f ⊙ c + i ⊙ g
        h = o * tanh(cell_state);             // h' = o ⊙ tanh(c')
      } else {
        const Tensor<T> r = sigmoid(block(gi, 0) + block(gh, 0)), z = sigmoid(block(gi, 1) + block(gh, 1));
        const Tensor<T> n = tanh(block(gi, 2) + r * block(gh, 2));
        h = (T(1) - z) * n + z * h;  // h' = (1 - z) ⊙ n + z ⊙ h
      }
      loss = loss + mean(pow(linear(h, v_, c_) - ys_[t], T(2)));
    }
    return loss * (T(1) / static_cast<T>(xs_.size()));
  }
  void step() {
    forward().backward();
    for (auto* p : {&w_ih_, &w_hh_, &u_f_, &b_ih_, &b_hh_, &v_, &c_}) p->zero_grad();
  }

 private:
  Tensor<T> block(const Tensor<T>& gates, std::size_t k) const { return slice(gates, 1, k * H_, (k + 1) * H_); }
  Cell cell_;
  Generator gen_;
  std::size_t B_, H_;
  Tensor<T> w_ih_, w_hh_, u_f_, b_ih_, b_hh_, v_, c_;
  std::vector<Tensor<T>> xs_, ys_;
};

}  // namespace rwd::bench
