// The one place Rewind calls BLAS: C = alpha op(A) op(B) + beta C, row-major;
// and the dense kernels of a linear map over rows built on it.
#pragma once

#include <cstddef>

namespace rwd::blas {

void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, float alpha,
          const float* a, std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc);
void gemm(bool transpose_a, bool transpose_b, std::size_t m, std::size_t n, std::size_t k, double alpha,
          const double* a, std::size_t lda, const double* b, std::size_t ldb, double beta, double* c,
          std::size_t ldc);

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

}  // namespace rwd::blas
