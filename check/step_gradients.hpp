// dL/dh_t (and dL/dc_t for an LSTM) of every layer, direction and step of a
// Recurrent layer, from one backward of a loss of its output. The gradient
// reports (gradient_report.hpp, gated_gradient_report.hpp) and the
// gradient-flow diagnostics (gradient_flow.hpp) all get them here.
//
// How: a twin of the layer, sharing its cells (and so its fused steps), is
// run with RecurrentOptions::retain_step_grads, and one backward reads each
// step's gradient off the tape (Recurrent::step_gradients): no op-by-op
// replay. The parameters' .grad() are put back as they were.
#pragma once

#include <functional>
#include <type_traits>
#include <vector>

#include "../nn/recurrent.hpp"

namespace rwd::nn {

template <class T>
struct LayerStepGradients {
  std::size_t layer = 0;
  bool reverse = false;
  std::vector<Tensor<T>> h;  // dL/dh_t, t = 1..T in time order, each [B, H]: the total from every later use
  std::vector<Tensor<T>> c;  // LSTM: dL/dc_t likewise; else empty
  // What each step saw, in time order: its state before the step (h_{t-1}, c_{t-1} …)
  // and its projected input, for re-running the step (gradient_flow's Jacobians).
  std::vector<RecurrentState<T>> state_before;
  std::vector<Tensor<T>> projected_input;
};

// model: any Recurrent (RNN, LSTM, GRU, your own cell); input time-major [T, B, I]
// (batch_first: [B, T, I]); lengths are not supported. One entry per layer and
// direction, in the order layer 0 forward, layer 0 reverse, layer 1 …
template <class T>
std::vector<LayerStepGradients<T>> step_gradients(
    Recurrent<T>& model, const Tensor<T>& input, const RecurrentState<T>& initial_state,
    const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss);

}  // namespace rwd::nn
