// Loss functions with PyTorch's semantics (torch.nn.functional): same names,
// same reductions, same treatment of ignored targets.
//
// Per-sequence loss. The notes define the loss of a sequence as
//   L = 1/T Σ_t l(o_t, y_t),
// the mean over time of a per-step loss. With l the per-step mean over the
// batch and features (mse_loss with Reduction::Mean on the [B, O] step), L is
// exactly mse_loss(outputs, targets) with Reduction::Mean over the whole
// [T, B, O] tensors: 1/(T·B·O) Σ_{t,b,o} = 1/T Σ_t (1/(B·O) Σ_{b,o}).
// Likewise cross_entropy over logits [T, B, C] reshaped to [T·B, C] (targets in
// the same t-major order) with Reduction::Mean is 1/T Σ_t of the per-step
// batch means, provided no target is ignored (ignored targets change the
// count PyTorch divides by). tests/test_loss.cpp checks both identities.
#pragma once

#include <cstdint>
#include <vector>

#include "../autograd/tensor.hpp"

namespace rwd::nn {

// How per-element losses are combined: their mean, their sum, or returned as they are.
enum class Reduction { Mean, Sum, None };

// l_i = (input_i - target_i)²; input and target must have the same shape
// (PyTorch would broadcast with a warning; here it is an error). Both may require grad.
template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction = Reduction::Mean);

// l_n = -log_softmax(logits_n)[targets_n], computed through log_softmax so
// large logits do not overflow. logits [N, C] with N targets in [0, C), or
// unbatched [C] with one target (Reduction::None then gives a 0-D result).
// A target equal to ignore_index contributes 0 and is not counted: Mean
// divides by the number of non-ignored targets (NaN if all are ignored, as
// PyTorch). Sequences: reshape [T, B, C] to [T·B, C] first (PyTorch reads a
// 3-D input as [N, C, d], with classes on axis 1, so 3-D is refused here).
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const std::vector<std::int64_t>& targets,
                        Reduction reduction = Reduction::Mean, std::int64_t ignore_index = -100);

// l_i = -[y_i log σ(x_i) + (1 - y_i) log(1 - σ(x_i))]
//     = max(x_i, 0) - x_i y_i + log(1 + e^{-|x_i|})      (the stable form, via softplus)
// logits and targets must have the same shape; targets are probabilities in [0, 1].
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& logits, const Tensor<T>& targets,
                                           Reduction reduction = Reduction::Mean);

}  // namespace rwd::nn
