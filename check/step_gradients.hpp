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

// One layer and direction's StepGradients (h: dL/dh_t, t = 1..T in time
// order, each [B, H], the total from every later use; c: an LSTM's dL/dc_t
// likewise, else empty), with where they were taken and what each step saw.
template <class T>
struct LayerStepGradients : StepGradients<T> {
  std::size_t layer = 0;
  bool reverse = false;
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

namespace detail {
// Throws unless `model` draws no dropout masks (dropout between layers, in
// training mode): a second run would draw other masks. `why` ends the message.
template <class T>
void require_no_active_dropout(const char* op, const Recurrent<T>& model, const std::string& why = {});
}  // namespace detail

}  // namespace rwd::nn
