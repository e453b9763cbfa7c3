// Parameter initialisers, in place, as torch.nn.init: each overwrites the
// tensor's value (no op is recorded) and returns the same handle.
#pragma once

#include <type_traits>

#include "../autograd/random.hpp"
#include "../autograd/tensor.hpp"

namespace rwd::nn::init {

// x ~ U(low, high)
template <class T>
Tensor<T> uniform_(Tensor<T> tensor, std::type_identity_t<T> low, std::type_identity_t<T> high,
                   Generator& generator = default_generator());

// x = 0
template <class T>
Tensor<T> zeros_(Tensor<T> tensor);

// x ~ U(-a, a),  a = gain · √(6 / (fan_in + fan_out))       (Glorot & Bengio 2010)
// fan_in = size(1) · r, fan_out = size(0) · r, r = product of the remaining
// sizes (PyTorch's _calculate_fan_in_and_fan_out); needs at least 2 dimensions.
template <class T>
Tensor<T> xavier_uniform_(Tensor<T> tensor, std::type_identity_t<T> gain = 1,
                          Generator& generator = default_generator());

// x = gain · Q, viewed as a [rows = size(0), cols = numel / rows] matrix, with
// Q the orthogonal factor of the QR decomposition of a N(0, 1) matrix and the
// signs fixed so that diag(R) > 0 (PyTorch's orthogonal_; Saxe et al. 2013):
// the rows (rows <= cols) or the columns (rows >= cols) of Q are orthonormal.
// Q comes from modified Gram–Schmidt, applied twice for a numerically
// orthogonal result; needs at least 2 dimensions.
template <class T>
Tensor<T> orthogonal_(Tensor<T> tensor, std::type_identity_t<T> gain = 1, Generator& generator = default_generator());

}  // namespace rwd::nn::init
