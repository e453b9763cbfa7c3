// What every hand-derived backward (elman_bptt.hpp, gated_bptt.hpp) is asked to do.
#pragma once

#include <optional>

namespace rwd::bptt {

struct BpttOptions {
  // k: each loss term's gradient flows back through at most k steps (through
  // steps t, t-1, …, t-k+1, as if the state before them were detached; when
  // t <= k the window reaches the initial state, which then receives it).
  // Unset: full BPTT. k <= 0 is an error.
  std::optional<int> truncation;
  // Also return each step's term of the recurrent weights' gradients (Elman:
  // δ_t h_{t-1}ᵀ of dL/dW, [T, H, H]; gated cells: every weight and bias),
  // summing to the totals.
  bool per_step_weight_grads = false;
  // Compute dL/dx_t (of the data; upper layers' are always made). Off saves a
  // GEMM, e.g. when timing against a tape whose input needs no gradient.
  bool input_grad = true;
};

}  // namespace rwd::bptt
