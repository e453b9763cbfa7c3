// Truncated backpropagation through time for stateful recurrent training.
//
// A long sequence of `length` time steps is walked in windows. The recurrent
// state (h for an RNN or GRU, {h, c} for an LSTM) is carried from window to
// window, detached at the window boundary, so each backward pass covers only
// one window and memory stays bounded however long the sequence.
//
// TBPTT(k1, k2) (Williams & Peng's BPTT(h; h') with h = k2, h' = k1): every k1
// steps, the losses of those k1 steps are backpropagated k2 steps deep (k2 >= k1):
//   update u covers the loss steps [t_{u-1}, t_u), t_u = min(u·k1, length);
//   its graph starts at step max(0, t_{u-1} − (k2 − k1)) from the state saved
//   there, detached. With k2 = k1 (the default) this is plain chunked TBPTT:
//   run k steps from the detached state, backward, update, carry the state on.
// With k2 > k1 the first k2 − k1 steps of a window re-run steps already seen,
// with the current parameters (their losses are not counted again); the saved
// states they start from were computed with the parameters of their time.
//
// The model is supplied as a callback, so any cell or layer can be trained:
//   forward_chunk(begin, end, state) -> {state after step end-1, loss of steps [begin, end)}
// or, one step at a time, through chunk_from_steps(step) with
//   step(t, state) -> {state after step t, loss at t (undefined if none)}.
// (The state comes last, as in checkpointed_unroll's step(t, input, state)
// and a cell's step(input, state).)
// The initial state is used as given (a learnable h0 gets its gradient from
// the first window); later window starts are detached copies.
#pragma once

#include <cstddef>
#include <functional>
#include <type_traits>
#include <vector>

#include "../autograd/tensor.hpp"
#include "optimizer.hpp"

namespace rwd::optim {

template <class T>
struct ChunkOutput {
  RecurrentState<T> state;  // after the chunk's last step, same number of tensors as the input state
  Tensor<T> loss;           // one-element loss of the chunk's steps; undefined if they have none
};

template <class T>
using ForwardChunk = std::function<ChunkOutput<T>(std::size_t begin, std::size_t end, const RecurrentState<T>& state)>;
template <class T>
using ForwardStep = std::function<ChunkOutput<T>(std::size_t t, const RecurrentState<T>& state)>;

struct TBPTTOptions {
  std::size_t k1 = 0;  // steps between updates (>= 1)
  std::size_t k2 = 0;  // backpropagation depth (>= k1); 0 means k1
  // Used by the optimizer overload only: clip_grad_norm_ to this before each
  // step (0: no clipping).
  double max_grad_norm = 0;
};

template <class T>
struct TBPTTResult {
  std::vector<double> losses;      // the loss of each update, in order
  RecurrentState<T> final_state;   // the state after the last step, detached
};

// Walks the sequence; after each window's backward calls update() (which
// typically clips, steps the optimizer and zeroes the gradients). A window
// without any loss is not backpropagated and triggers no update.
template <class T>
TBPTTResult<T> truncated_bptt(std::size_t length, RecurrentState<T> initial_state,
                              const std::type_identity_t<ForwardChunk<T>>& forward_chunk,
                              const std::function<void()>& update, TBPTTOptions options);

// The same, with update = [clip_grad_norm_ if max_grad_norm > 0], optimizer.step(),
// optimizer.zero_grad(); the gradients are also zeroed before the first window.
template <class T>
TBPTTResult<T> truncated_bptt(std::size_t length, RecurrentState<T> initial_state,
                              const std::type_identity_t<ForwardChunk<T>>& forward_chunk, Optimizer<T>& optimizer,
                              TBPTTOptions options);

// A chunk function that runs `step` for t = begin..end-1 and sums the step losses.
template <class T>
ForwardChunk<T> chunk_from_steps(ForwardStep<T> step);

}  // namespace rwd::optim
