#include "blas.hpp"

#include <cblas.h>

#include <algorithm>

#ifdef REWIND_WITH_LIBXSMM
#include <libxsmm.h>
#endif

namespace rwd::blas {

namespace {
CBLAS_TRANSPOSE flag(bool transpose) { return transpose ? CblasTrans : CblasNoTrans; }
blasint as_int(std::size_t v) { return static_cast<blasint>(v); }

void openblas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a,
                   std::size_t lda, const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  cblas_sgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a, as_int(lda), b,
              as_int(ldb), beta, c, as_int(ldc));
}
void openblas_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
                   std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  cblas_dgemm(CblasRowMajor, flag(ta), flag(tb), as_int(m), as_int(n), as_int(k), alpha, a, as_int(lda), b,
              as_int(ldb), beta, c, as_int(ldc));
}

#ifdef REWIND_WITH_LIBXSMM
constexpr double max_jit_multiply_adds = double(1 << 28);
const bool has_avx = __builtin_cpu_supports("avx");

// libxsmm's JIT kernels beat OpenBLAS on a recurrent step's products (M = B
// rows): 1.2-1.6x at B = 32..64, H = 128..512, 2-4x at H = 32, level from
// 256^3 to 1024^3 (one thread, benchmarks/README). They are column-major, with
// alpha = 1, beta 0 or 1, and A not transposed; row-major C = op(A) op(B) is
// column-major Cᵀ = op(B)ᵀ op(A)ᵀ, so a row-major product qualifies when B is
// not transposed. Everything else, and products above 2^28 multiply-adds
// (where OpenBLAS's threads may help), goes to OpenBLAS. The choice depends
// on the shapes only, never on the thread count: results stay bitwise the
// same on 1 and 2 OpenBLAS threads.
libxsmm_smmfunction jit_kernel(int m, int n, int k, const int* ld, const float* beta, const int* flags) {
  const float one = 1;
  return libxsmm_smmdispatch(m, n, k, &ld[0], &ld[1], &ld[2], &one, beta, flags, nullptr);
}
libxsmm_dmmfunction jit_kernel(int m, int n, int k, const int* ld, const double* beta, const int* flags) {
  const double one = 1;
  return libxsmm_dmmdispatch(m, n, k, &ld[0], &ld[1], &ld[2], &one, beta, flags, nullptr);
}

template <class T>
bool jit_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
              const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (tb || alpha != T(1) || (beta != T(0) && beta != T(1)) || k == 0 ||
      double(m) * double(n) * double(k) > max_jit_multiply_adds)
    return false;
  const int ld[3] = {int(ldb), int(lda), int(ldc)};
  const int flags = ta ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
  const auto kernel = jit_kernel(int(n), int(m), int(k), ld, &beta, &flags);
  if (!kernel) return false;
  kernel(b, a, c);
  // The kernels use AVX/AVX-512 registers and leave their upper halves dirty;
  // the library's own SSE code (x86-64 baseline) then ran 1.7x slower (tanh,
  // measured). vzeroupper, as compilers emit after AVX code, clears them.
  if (has_avx) __asm__ volatile("vzeroupper" ::: "memory");
  return true;
}
#endif

template <class T>
void gemm_rows(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
               const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
#ifdef REWIND_WITH_LIBXSMM
  if (jit_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
#endif
  openblas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
}  // namespace

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha, const float* a, std::size_t lda,
          const float* b, std::size_t ldb, float beta, float* c, std::size_t ldc) {
  gemm_rows(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, double alpha, const double* a,
          std::size_t lda, const double* b, std::size_t ldb, double beta, double* c, std::size_t ldc) {
  gemm_rows(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

bool keep_transposed_weight([[maybe_unused]] std::size_t m, [[maybe_unused]] std::size_t n,
                            [[maybe_unused]] std::size_t k) {
#ifdef REWIND_WITH_LIBXSMM
  // Measured (one thread, float; benchmarks/README): libxsmm's kernel on Wᵀ
  // wins 1.2-1.6x from m = 32 rows at k = 128..512, 2-4x at k = 32 for any m,
  // and loses up to 1.2x at m = 1 with k = 512 (a matrix-vector product, bound
  // by reading W either way).
  return (m >= 16 || k <= 64) && double(m) * double(n) * double(k) <= max_jit_multiply_adds;
#else
  return false;
#endif
}

void transpose_into(std::size_t rows, std::size_t cols, const float* from, float* to) {
  if (rows == 0 || cols == 0) return;
  cblas_somatcopy(CblasRowMajor, CblasTrans, as_int(rows), as_int(cols), 1.f, from, as_int(cols), to, as_int(rows));
}
void transpose_into(std::size_t rows, std::size_t cols, const double* from, double* to) {
  if (rows == 0 || cols == 0) return;
  cblas_domatcopy(CblasRowMajor, CblasTrans, as_int(rows), as_int(cols), 1.0, from, as_int(cols), to, as_int(rows));
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
