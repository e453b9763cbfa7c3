// Gradient clipping (PyTorch's torch.nn.utils.clip_grad_norm_ / clip_grad_value_),
// the usual guard against exploding gradients in recurrent models. Both work
// in place on the .grad() of the given tensors, skipping tensors without one.
#pragma once

#include <limits>
#include <vector>

#include "../autograd/tensor.hpp"

namespace rwd::optim {

// Scales every gradient by clip_coef = max_norm / (total_norm + 1e-6) when that
// is < 1, where total_norm is the norm of all gradients taken together (as if
// concatenated into one vector): (Σ |g|^p)^(1/p), or max |g| for
// norm_type = infinity. Returns total_norm, measured before clipping, in double.
//
// A non-finite total norm (a NaN or Inf somewhere in the gradients):
//  - error_if_nonfinite = true: throws rwd::Error naming the norm and the
//    first parameter whose gradient is not finite;
//  - otherwise (the default) the gradients are left untouched and the
//    non-finite norm is returned, so the caller can test it (std::isfinite)
//    and skip the step. (PyTorch would multiply the gradients by NaN here.)
// max_norm must be >= 0 and norm_type > 0 (or infinity).
template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

// Clamps every gradient element into [-clip_value, clip_value] (clip_value >= 0).
template <class T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value);

inline constexpr double inf_norm = std::numeric_limits<double>::infinity();

}  // namespace rwd::optim
