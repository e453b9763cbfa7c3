// Elementwise math over raw buffers, vectorised by xsimd (through xtensor's
// expressions on adapted memory): for hand-written kernels such as the fused
// recurrent steps, where scalar std::tanh / std::exp would cost more than the
// matmuls. The results equal the tape's tanh and sigmoid ops, which evaluate
// the same expressions.
#pragma once

#include <cstddef>

namespace rwd::vector_math {

// y[i] = tanh(x[i]), i < n; y may be x.
template <class T>
void tanh(const T* x, T* y, std::size_t n);

// y[i] = 1 / (1 + exp(-x[i])), i < n; y may be x.
template <class T>
void sigmoid(const T* x, T* y, std::size_t n);

template <class T>
void tanh_in_place(T* x, std::size_t n) {
  tanh(x, x, n);
}
template <class T>
void sigmoid_in_place(T* x, std::size_t n) {
  sigmoid(x, x, n);
}

}  // namespace rwd::vector_math
