// The one place Rewind calls BLAS: C = alpha op(A) op(B) + beta C, row-major;
// and the dense kernels of a linear map over rows built on it.
#pragma once

#include <cstddef>
#include <vector>

namespace rwd::blas {

void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
          std::size_t ldc);

// A recurrent layer multiplies h_t [m, k] by the same Wᵀ (W [n, k]) at every
// step t. libxsmm's kernels take their second operand untransposed only and
// beat OpenBLAS at a step's shapes, so there the layer transposes W once
// (transpose_into) and passes W_t = Wᵀ [k, n] to every step's product.
// True when this build's kernels make that faster at these sizes.
bool keep_transposed_weight(std::size_t m, std::size_t n, std::size_t k);
// to [cols, rows] = fromᵀ, from [rows, cols] (row-major, contiguous)
void transpose_into(std::size_t rows, std::size_t cols, const float* from, float* to);
void transpose_into(std::size_t rows, std::size_t cols, const double* from, double* to);
// Wᵀ [k, n] of W [n, k] when keep_transposed_weight(m, n, k), else empty.
template <class T>
std::vector<T> kept_transpose(std::size_t m, std::size_t n, std::size_t k, const T* weight) {
  std::vector<T> weight_t;
  if (!keep_transposed_weight(m, n, k)) return weight_t;
  weight_t.resize(n * k);
  transpose_into(n, k, weight, weight_t.data());
  return weight_t;
}
// c [m, n] (ldc) = h [m, k] (ldh) Wᵀ + beta c, through weight_t (Wᵀ [k, n])
// when it is not null, else weight (W [n, k]) with a transpose flag.
template <class T>
void times_weight_transposed(std::size_t m, std::size_t n, std::size_t k, const T* h, std::size_t ldh, const T* weight,
                             const T* weight_t, T beta, T* c, std::size_t ldc) {
  if (weight_t)
    gemm(false, false, m, n, k, T(1), h, ldh, weight_t, n, beta, c, ldc);
  else
    gemm(false, true, m, n, k, T(1), h, ldh, weight, k, beta, c, ldc);
}

// y [rows, out] = x [rows, in] Wᵀ + b, W [out, in], b [out] or null: the bias
// rows are the GEMM's starting value (beta = 1).
template <class T>
void linear_rows(std::size_t rows, std::size_t in, std::size_t out, const T* x, const T* weight, const T* bias, T* y);

// From g = dL/dy [rows, out], each wanted (non-null) gradient, overwritten:
//   dx = g W [rows, in],   db = Σ_rows g [out]
// (dW = gᵀ x is a GradProduct the engine folds: see linear_grads.)
template <class T>
void linear_rows_backward(std::size_t rows, std::size_t in, std::size_t out, const T* g, const T* weight, T* dx,
                          T* dbias);

namespace detail {
// Benchmarks and tests: send every product one way (by_shape: the library's
// choice), and the blocks' sizes (returns the previous ones). Products of at
// least min_multiply_adds and 4 row blocks are blocked.
enum class Route { by_shape, openblas, one_kernel, blocked };
void set_route(Route route);
struct Blocking {
  std::size_t rows, cols, depth;  // of C's blocks, and K's slices
  double min_multiply_adds;
};
Blocking set_blocking(const Blocking& blocking);
}  // namespace detail

}  // namespace rwd::blas
