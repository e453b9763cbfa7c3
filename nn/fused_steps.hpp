// Fused step nodes: the built-in cells' time loop with one tape node per step.
//
// The generic unroll (recurrent.cpp) records each step of a cell as a handful
// of primitive ops. For RNNCell, LSTMCell and GRUCell the step is instead one
// node whose forward and hand-written backward sit side by side in
// fused_steps.cpp. The recursion through time is still the tape's: step t is a
// node whose input is step t-1's output, and backward walks them in reverse.
// What the fusion buys is the cost per step:
//   - one node instead of 4 to 20, and no per-step gradient of a weight: each
//     step adds δ_tᵀ h_{t-1} straight into one dL/dW_hh buffer (GEMM, beta = 1)
//     and writes its pre-activation gradient into row block t of dL/dP, so the
//     input projection P = x W_ihᵀ + b gets its gradient once and backpropagates
//     it as two GEMMs over all T·B rows (autograd/gradient_sink.hpp);
//   - the gradient reaching the layer's output [T, B, H] is not split into T
//     tensors: step t's backward reads row block t-1 of it when it passes
//     dL/dh_{t-1} on.
// An LSTM step's node holds [h | c] ([B, 2H]); the layer splits h_n and c_n off
// the last one. Double backward (create_graph) is not supported through a fused
// step: it throws, and RecurrentOptions::fused = false takes the generic path.
// The tests hold the two paths to the same values and gradients.
#pragma once

#include <cstddef>

#include "recurrent_cell.hpp"

namespace rwd::nn {

enum class FusedCell { rnn_tanh, rnn_relu, lstm, gru };

// One direction of one layer: `input` [T, B, I] (the layer input; any shape
// with those T·B rows of I), `state` the initial state ({h} or {h, c}, each
// [B, H]); steps run t = 0..T-1, or T-1..0 when `reverse`. The input projection
// x W_ihᵀ + b of all steps is one GEMM, kept only while the steps run forward.
// Returns the outputs h_t as [T, B, H] and the final state.
template <class T>
UnrollResult<T> unroll_with_fused_steps(FusedCell kind, const CellWeights<T>& weights, const Tensor<T>& input,
                                        const CellState<T>& state, bool reverse);

}  // namespace rwd::nn
