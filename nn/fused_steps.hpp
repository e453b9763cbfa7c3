// Fused unrolls: a cell's whole time loop as one function on the tape.
//
// The generic unroll (recurrent.cpp) records each step of a cell as a handful
// of primitive ops. A cell with a StepKernel runs one direction of one layer
// as one function instead, with outputs {h_t for every t [T, B, H], the final
// state tensors}: its forward is a loop over the kernel's forward, its
// backward the loop bptt/gated_bptt.cpp is, from t = T-1 down to 0:
//   - dL/dP [T·B, G·H] is local: step t writes its rows (the δ_t), and the
//     input projection P = x W_ihᵀ + b hands it to x, W_ih and b as two GEMMs
//     over all T·B rows (linear_grads);
//   - dL/dW_hh = Σ_t δ_tᵀ h_{t-1} is one gradient product over all T·B rows,
//     which the engine folds with any other use of W_hh;
//   - the gradient reaching the output [T, B, H] joins the recursion at its
//     step, row block t.
// Under create_graph the backward runs the kernel's equations again as ops
// (as_ops) over the whole sequence and differentiates them, recording: second
// derivatives pass through fused layers. Variable lengths are masked inside.
//
// A new fused cell is one StepKernel: its widths, forward, backward and the
// same equations as ops. The built-in ones sit beside their cells
// (rnn_cell.cpp, lstm_cell.cpp, gru_cell.cpp).
#pragma once

#include <cstddef>
#include <vector>

#include "recurrent_cell.hpp"

namespace rwd::nn {

// One step's rows of the unroll's buffers, [B, ·] each, row-major.
template <class T>
struct StepRows {
  std::size_t batch, hidden;
  const T* weight_hh;  // [G·H, H]
  const T* weight_hh_t;  // [H, G·H] = W_hhᵀ for the forward product, or null (blas::keep_transposed_weight)
  const T* bias_hh;    // [G·H], or null (read only by kernels with bias_hh_in_projection = false)
  const T* previous;   // [B, S·H]: the state the step starts from, [h] or [h | c]
  T* saved;            // [B, saved·H]: what forward keeps for backward
  T* scratch;          // [B, scratch·H]: temporaries, not kept
};

// The gradient outputs of one step's backward.
template <class T>
struct StepGrads {
  T* delta;           // [B, G·H]: dL/d(pre-activations) = dL/dP's rows
  T* hidden_delta;    // [B, G·H]: the δ that multiplies W_hh (== delta unless separate_hidden_delta)
  T* bias_hh;         // [G·H] accumulated (+=), or null: kernels with bias_hh_in_projection = false
  T* previous;        // [B, S·H]: dL/d(previous state), written; null if not wanted
};

template <class T>
struct StepKernel {
  const char* name;                    // the unroll function's op name
  std::size_t gates;                   // G: P and h W_hhᵀ have G·H columns
  std::size_t states;                  // S: state tensors, h first (an LSTM's [h | c]: 2)
  std::size_t saved;                   // columns (·H) a step keeps for backward
  std::size_t scratch;                 // columns (·H) of scratch
  bool bias_hh_in_projection;          // b_hh joins P (it enters every pre-activation unchanged)
  bool separate_hidden_delta = false;  // the δ multiplying W_hh differs from dL/dP (GRU)

  StepKernel(const char* name, std::size_t gates, std::size_t states, std::size_t saved, std::size_t scratch,
             bool bias_hh_in_projection, bool separate_hidden_delta = false)
      : name(name),
        gates(gates),
        states(states),
        saved(saved),
        scratch(scratch),
        bias_hh_in_projection(bias_hh_in_projection),
        separate_hidden_delta(separate_hidden_delta) {}
  virtual ~StepKernel() = default;

  // next [B, S·H] from pre [B, G·H] (P's rows, which forward may overwrite).
  virtual void forward(const StepRows<T>& rows, T* pre, T* next) const = 0;
  // From grad = dL/d(next) [B, S·H] and the step's own output `next`.
  virtual void backward(const StepRows<T>& rows, const T* next, const T* grad, const StepGrads<T>& out) const = 0;
  // For retained per-step gradients (RecurrentOptions::retain_step_grads):
  // adds to dL/d(state) [B, S·H] the part that reaches a later state tensor
  // through h inside the step, so that each is a total (an LSTM's dL/dc_t +=
  // g_h ⊙ o ⊙ (1 - tanh²(c_t))), as the op-by-op unroll's are. Default: none.
  virtual void add_inner_paths(const StepRows<T>& /*rows*/, const T* /*grad*/, T* /*state_grads*/) const {}
  // The same step as recorded ops: the cell's step(), and the fused node's
  // backward under create_graph. bias_hh is used only when it is not in P.
  virtual RecurrentState<T> as_ops(const Tensor<T>& projected, const RecurrentState<T>& state, const Tensor<T>& weight_hh,
                              const Tensor<T>& bias_hh) const = 0;
  // P = x W_ihᵀ + b as ops (b = b_ih + b_hh when bias_hh_in_projection).
  Tensor<T> project(const Tensor<T>& x, const CellWeights<T>& weights) const;
};

// One direction of one layer: `input` [T, B, I] (any shape with those T·B rows
// of I), `state` the initial state (S tensors [B, H]); steps run t = 0..T-1, or
// T-1..0 when `reverse`. lengths: empty (all T) or one per sequence in
// [0, T]; at a padded step (t >= lengths[b]) sequence b keeps its state and
// outputs zeros (a checkpointed segment may hold none of a sequence's steps).
// Returns the outputs h_t as [T, B, H] and the final state; with keep_steps
// also each step's state [h_t | c_t] (time order, [B, S·H]) as further outputs
// of the function (UnrollResult::steps: a backward may start from them) and as
// values whose .grad() the backward sets to dL/d[h_t | c_t] (reports).
template <class T>
UnrollResult<T> unroll_with_fused_steps(const StepKernel<T>& kernel, const CellWeights<T>& weights,
                                        const Tensor<T>& input, const RecurrentState<T>& state, bool reverse,
                                        const std::vector<std::size_t>& lengths = {}, bool keep_steps = false);

}  // namespace rwd::nn
