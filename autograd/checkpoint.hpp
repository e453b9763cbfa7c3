// Gradient checkpointing: trade compute for tape memory.
//
// checkpoint(fn, inputs, params) runs fn without recording and records one
// node for the whole call; its backward runs fn again, recording, from the
// same input values, and backpropagates through that recomputed graph. The
// tape therefore holds fn's inputs and outputs, never its intermediates.
//
// checkpointed_unroll does this over time for a recurrent step: the T steps
// run in segments of k, one checkpoint per segment, so the tape keeps only the
// state at every k-th step (T/k checkpoints) and, during backward, one
// segment's recomputed graph (k steps) at a time: with k = ⌈√T⌉ the peak tape
// grows as O(√T) instead of O(T), for about one extra forward pass. The
// gradients are those of the plain unroll (the same ops on the same values;
// only the order in which the segments' parameter gradients are summed changes).
//
//   auto step = [&](std::size_t t, const Tensor<double>& x, const std::vector<Tensor<double>>& state) {
//     Tensor<double> h = tanh(linear(x, w_ih, b) + matmul(state[0], w_hh, false, true));
//     const Tensor<double> error = linear(h, w_out) - targets[t];
//     return UnrollStep<double>{{h}, mean(error * error)};
//   };
//   auto [final_state, loss] = checkpointed_unroll<double>(step, {h0}, xs, {w_ih, w_hh, b, w_out});
//   loss.backward();
//
// Rules: every tensor fn (or step) uses that requires grad must be one of its
// inputs (the state, the per-step inputs) or listed in params; params must be
// leaves (weights). A tensor that breaks this is reported by the backward, not
// silently given no gradient. fn must compute the same thing when run again
// (no fresh random draws: dropout masks drawn inside fn would differ). Its
// closure must stay valid until the backward has run. Under create_graph the
// recomputation's gradients are recorded, so second derivatives pass through
// a checkpoint (gradgradcheck holds).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "tensor.hpp"

namespace rwd {

template <class T>
using CheckpointFn = std::function<std::vector<Tensor<T>>(const std::vector<Tensor<T>>& inputs)>;

// fn(inputs), recorded as one node over inputs and params (when recording is
// on and one of them requires grad; otherwise just fn(inputs)). fn must return
// at least one tensor.
template <class T>
std::vector<Tensor<T>> checkpoint(const CheckpointFn<T>& fn, const std::vector<Tensor<T>>& inputs,
                                  const std::vector<Tensor<T>>& params = {});

// One step of a recurrent model, step(t, input_t, state): the new state (the
// same number of tensors as the old one) and, optionally, this step's loss (a
// one-element tensor, or undefined for none).
template <class T>
struct UnrollStep {
  std::vector<Tensor<T>> state;
  Tensor<T> loss;
};
template <class T>
using StepFn = std::function<UnrollStep<T>(std::size_t t, const Tensor<T>& input, const RecurrentState<T>& state)>;

template <class T>
struct UnrollOutput {
  std::vector<Tensor<T>> final_state;  // the state after the last step
  Tensor<T> loss;                      // Σ_t loss_t (undefined if no step returned a loss)
};

// Runs step over inputs_per_step from initial_state, checkpointing every
// segment_length steps (0: ⌈√T⌉). params: the tensors step uses that need
// gradients, other than the state and the inputs.
template <class T>
UnrollOutput<T> checkpointed_unroll(const StepFn<T>& step, const std::vector<Tensor<T>>& initial_state,
                                    const std::vector<Tensor<T>>& inputs_per_step,
                                    const std::vector<Tensor<T>>& params, std::size_t segment_length = 0);

}  // namespace rwd
