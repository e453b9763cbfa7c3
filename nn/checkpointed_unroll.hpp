// A recurrent layer, its readout and its loss, unrolled under a checkpoint
// schedule (autograd/checkpoint_schedule.hpp), so that nothing of length T is
// held but the input: the layer's output [T, B, D·H] is never made whole, nor
// its gradient. Each piece of the schedule runs the layer's steps from a kept
// state and hands its outputs to the readout at once; the tape keeps the
// states the schedule says and, in backward, one piece's records at a time.
//
//   nn::LSTM<double> lstm({.input_size = 1, .hidden_size = 64});
//   nn::Linear<double> head(64, 1);
//   nn::Readout<double> readout{[&](std::size_t first, const TensorD& h) {  // h [n, B, 64]: steps first.. first+n-1
//                                 return nn::mse_loss(head.forward(h), slice(y, 0, first, first + h.size(0)),
//                                                     nn::Reduction::Sum);
//                               },
//                               head.parameters()};
//   auto [loss, final_state, schedule] = nn::checkpointed_unroll(lstm, x, readout, {.slots = 32});
//   loss.backward();  // the gradients of the plain tape's Σ_t loss_t
//
// What runs where:
//   - one direction (any number of layers): every schedule; a piece runs all
//     layers over its steps, then the readout on the last layer's h_t;
//   - bidirectional (any number of layers): √T segments only (a binomial
//     schedule is refused: the reverse direction's state at a segment's end
//     comes from the whole rest of the sequence). Each cell's state at each
//     segment's entering edge (its left edge going forward, its right edge in
//     reverse) is kept: one checkpoint chain per cell, the layers below
//     recomputed inside; the readout of a segment recomputes every layer of it
//     from those states and sees both directions' h_t, [forward | reverse].
// Rules: the input must not require grad (its per-piece gradients would each
// be [T, B, I]); no dropout in training mode; the readout must compute the
// same thing when run again, and list in params every leaf it uses that needs
// a gradient (checkpoint's rules, autograd/checkpoint.hpp). The layer, the
// readout's captures and the input must outlive the backward.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "../autograd/checkpoint_schedule.hpp"
#include "recurrent.hpp"

namespace rwd::nn {

template <class T>
struct Readout {
  // loss(first_step, h): h [n, B, D·H] the last layer's outputs at steps
  // [first_step, first_step + n), time-major (zeros at padded steps, as
  // Recurrent::forward's); a one-element loss, or undefined for none there.
  std::function<Tensor<T>(std::size_t first_step, const Tensor<T>& h)> loss;
  std::vector<Tensor<T>> params;  // the leaves loss uses that need gradients (the head's)
};

// The schedule: `schedule` if set, else at most `slots` states, else a budget
// of `memory_bytes`, else segments of `segment` steps (0: ⌈√T⌉).
struct CheckpointedUnrollOptions {
  std::size_t segment = 0;
  std::size_t slots = 0;                          // schedule_for_slots
  std::size_t memory_bytes = 0;                   // schedule_for_budget, from the state's size and an estimate of a step's records
  std::optional<CheckpointSchedule> schedule{};  // its steps must be T
};

template <class T>
struct CheckpointedUnrollResult {
  Tensor<T> loss;                      // Σ of the readout's losses (undefined if it returned none)
  std::vector<Tensor<T>> final_state;  // as Recurrent::forward's: [L·D, B, size] per state tensor
  CheckpointSchedule schedule;         // the one that ran
};

// input [T, B, I] ([B, T, I] if batch_first); initial_state and lengths as
// Recurrent::forward's.
template <class T>
CheckpointedUnrollResult<T> checkpointed_unroll(const Recurrent<T>& layer, const Tensor<T>& input,
                                                const Readout<T>& readout, const CheckpointedUnrollOptions& options = {},
                                                const RecurrentState<T>& initial_state = {},
                                                const std::vector<std::size_t>& lengths = {});

// An estimate of the tape's bytes per time step of `layer` at batch `batch`
// (the cells' records; what schedule_for_budget needs), and of one kept state.
template <class T>
std::size_t estimated_step_bytes(const Recurrent<T>& layer, std::size_t batch);
template <class T>
std::size_t state_bytes(const Recurrent<T>& layer, std::size_t batch);

}  // namespace rwd::nn
