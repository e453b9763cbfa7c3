#include "blas.hpp"

#include <cblas.h>

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

}  // namespace rwd::blas
