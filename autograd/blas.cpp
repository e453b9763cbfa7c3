#include "blas.hpp"

#include <cblas.h>

#include <algorithm>

namespace rwd::blas {

namespace {
CBLAS_TRANSPOSE flag(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }
blasint as_int(std::size_t v) { return static_cast<blasint>(v); }
}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a, as_int(lda), b,
              as_int(ldb), beta, c, as_int(ldc));
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a, as_int(lda), b,
              as_int(ldb), beta, c, as_int(ldc));
}

template <class T>
void linear_rows(std::size_t rows, std::size_t in, std::size_t out, const T* x, const T* weight, const T* bias, T* y) {
  if (bias)
    for (std::size_t r = 0; r < rows; ++r) std::copy_n(bias, out, y + r * out);
  gemm(false, true, rows, out, in, T(1), x, in, weight, in, bias ? T(1) : T(0), y, out);
}

template <class T>
void linear_rows_backward(std::size_t rows, std::size_t in, std::size_t out, const T* g, const T* weight, T* dx,
                          T* dbias) {
  if (dx) gemm(false, false, rows, in, out, T(1), g, out, weight, in, T(0), dx, in);
  if (dbias) {
    std::fill_n(dbias, out, T(0));
    for (std::size_t r = 0; r < rows; ++r)
      for (std::size_t o = 0; o < out; ++o) dbias[o] += g[r * out + o];
  }
}

template void linear_rows<float>(std::size_t, std::size_t, std::size_t, const float*, const float*, const float*,
                                 float*);
template void linear_rows<double>(std::size_t, std::size_t, std::size_t, const double*, const double*, const double*,
                                  double*);
template void linear_rows_backward<float>(std::size_t, std::size_t, std::size_t, const float*, const float*, float*,
                                          float*);
template void linear_rows_backward<double>(std::size_t, std::size_t, std::size_t, const double*, const double*,
                                           double*, double*);

}  // namespace rwd::blas
