#include "blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include "engine.hpp"

#include "thread_pool.hpp"
#include "threads.hpp"

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

// One kernel call for the whole product; false when libxsmm cannot take it
// (B transposed, alpha != 1, beta not 0 or 1, k = 0) or has no kernel.
template <class T>
bool jit_kernel_gemm(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a,
                     std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (tb || alpha != T(1) || (beta != T(0) && beta != T(1)) || k == 0) return false;
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

// C = alpha op(A) op(B) + beta C, row-major, as one call.
template <class T>
struct Product {
  bool ta, tb;
  std::size_t m, n, k;
  T alpha;
  const T* a;
  std::size_t lda;
  const T* b;
  std::size_t ldb;
  T beta;
  T* c;
  std::size_t ldc;
};

// The product in one kernel call: libxsmm's where it takes it, else OpenBLAS's.
template <class T>
void one_call(const Product<T>& p) {
#ifdef REWIND_WITH_LIBXSMM
  if (jit_kernel_gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc)) return;
#endif
  openblas_gemm(p.ta, p.tb, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, p.c, p.ldc);
}

// ---- blocked products --------------------------------------------------------------
//
// C is cut into blocks of blocking.rows x blocking.cols (the last ones smaller);
// each block is one kernel call over the whole of K, so each element's sum
// runs in the kernel's one order, whichever thread computes the block. The
// blocks depend on (m, n) only, hence the same bits on any number of threads.
//
// Block sizes measured (benchmarks/bench_gemm.cpp, gemm_seq rows; float, one
// thread, a busy 2-core Xeon): 64 x 512 blocks over K slices of 256 ran the
// sequence-wide products of an LSTM at H = 512 (x W_ihᵀ, g W_ih, gᵀ x over
// T·B = 1600..12800 rows) at 0.75-1.0x OpenBLAS on one thread and 1.6-2.1x on
// two; 64 x 256 and 128 x 128 were slower, and K whole (no slices) ran at
// 0.3-0.6x (B's panel left the cache). Slicing K keeps each element's sum in
// one order: the slices are added one after the other, on one thread.
detail::Blocking blocking{64, 512, 256, double(1 << 22)};
// Products of fewer than 4 row blocks (a recurrent step's, B <= 255 rows)
// keep one kernel call: the copy of B into panels would come at every step.
// A weight gradient gᵀ x over more than 8192 rows (K) stays with OpenBLAS:
// blocked, its transposed copy of g made it 0.56x OpenBLAS on one thread, 0.9x on two.
constexpr std::size_t max_blocked_transposed_depth = 8192;

std::mutex pool_mutex;
std::shared_ptr<rwd::detail::ThreadPool> the_pool = std::make_shared<rwd::detail::ThreadPool>(1);

std::shared_ptr<rwd::detail::ThreadPool> pool() {
  std::lock_guard lock(pool_mutex);
  return the_pool;
}

// C = alpha AB + beta C from AB (rows x cols, contiguous) into p's block at (i, j).
template <class T>
void scale_into(const Product<T>& p, const T* ab, std::size_t i, std::size_t rows, std::size_t j, std::size_t cols) {
  for (std::size_t r = 0; r < rows; ++r, ab += cols) {
    T* out = p.c + (i + r) * p.ldc + j;
    if (p.beta == T(0))  // BLAS's rule: C is not read
      for (std::size_t s = 0; s < cols; ++s) out[s] = p.alpha * ab[s];
    else
      for (std::size_t s = 0; s < cols; ++s) out[s] = p.alpha * ab[s] + p.beta * out[s];
  }
}

// Block (rows [i, i + rows), columns [j, j + cols)) of p, A not transposed,
// from `panel` (op(B)'s columns [j, j + cols), [k, cols] contiguous).
template <class T>
void one_block(const Product<T>& p, const T* panel, std::size_t i, std::size_t rows, std::size_t j,
               std::size_t cols) {
  thread_local std::vector<T> product;
  Product<T> block{false, false, rows, cols, p.k, T(1), p.a + i * p.lda, p.lda, panel, cols, p.beta,
                   p.c + i * p.ldc + j, p.ldc};
  const bool direct = p.alpha == T(1) && (p.beta == T(0) || p.beta == T(1));
  if (!direct) {  // other alpha, beta: the kernels' AB alone, then C = alpha AB + beta C
    product.resize(rows * cols);
    block.beta = T(0), block.c = product.data(), block.ldc = cols;
  }
  // K in slices of blocking.depth, added in order (the slices of B stay in cache).
  const std::size_t k = p.k;
  for (std::size_t s = 0; s < k; s += blocking.depth) {
    Product<T> slice = block;
    slice.k = std::min(blocking.depth, k - s);
    slice.a = block.a + s, slice.b = panel + s * cols;
    if (s > 0) slice.beta = T(1);
    one_call(slice);
  }
  if (!direct) scale_into(p, product.data(), i, rows, j, cols);
}

// op(B)'s columns [j, j + cols) as [k, cols], contiguous.
template <class T>
void pack_panel(const Product<T>& p, std::size_t j, std::size_t cols, T* to) {
  for (std::size_t s = 0; s < p.k; ++s)
    for (std::size_t c = 0; c < cols; ++c) to[s * cols + c] = p.tb ? p.b[(j + c) * p.ldb + s] : p.b[s * p.ldb + j + c];
}

// op(A)'s rows [i, i + rows) as [rows, k], contiguous, A transposed.
template <class T>
void pack_rows_of_transposed(const Product<T>& p, std::size_t i, std::size_t rows, T* to) {
  for (std::size_t s = 0; s < p.k; ++s)
    for (std::size_t r = 0; r < rows; ++r) to[r * p.k + s] = p.a[s * p.lda + i + r];
}

template <class T>
void blocked(Product<T> p) {
  const std::size_t row_blocks = (p.m + blocking.rows - 1) / blocking.rows;
  const std::size_t col_blocks = (p.n + blocking.cols - 1) / blocking.cols;
  const auto threads = pool();
  // B in panels of blocking.cols columns, each [k, cols] contiguous, and a
  // transposed A as op(A): the kernels run at their rate on such operands and
  // slowly on a wide or transposed one. The copies are O(k (m + n)), the product O(m n k).
  // Kept per calling thread (a layer's products come at every step); the
  // lambdas below run on other threads too, so they see pointers, not the names.
  thread_local std::vector<T> panel_buffer, row_buffer;
  panel_buffer.resize(p.k * p.n);
  row_buffer.resize(p.ta ? p.m * p.k : 0);
  T* const panels = panel_buffer.data();
  T* const rows_of_a = row_buffer.data();
  threads->run(col_blocks + (p.ta ? row_blocks : 0), [&](std::size_t q) {
    if (q < col_blocks) {
      const std::size_t j = q * blocking.cols;
      return pack_panel(p, j, std::min(blocking.cols, p.n - j), panels + p.k * j);
    }
    const std::size_t i = (q - col_blocks) * blocking.rows;
    pack_rows_of_transposed(p, i, std::min(blocking.rows, p.m - i), rows_of_a + i * p.k);
  });
  if (p.ta) p.a = rows_of_a, p.lda = p.k, p.ta = false;
  // Consecutive indices share a panel.
  threads->run(row_blocks * col_blocks, [&](std::size_t index) {
    const std::size_t i = (index % row_blocks) * blocking.rows, j = (index / row_blocks) * blocking.cols;
    one_block(p, panels + p.k * j, i, std::min(blocking.rows, p.m - i), j, std::min(blocking.cols, p.n - j));
  });
}

std::atomic<detail::Route> route{detail::Route::by_shape};

template <class T>
void gemm_rows(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, T alpha, const T* a, std::size_t lda,
               const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
  if (m == 0 || n == 0) return;
  const Product<T> p{ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  const double multiply_adds = double(m) * double(n) * double(k);
  switch (route.load(std::memory_order_relaxed)) {
    case detail::Route::openblas: return openblas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    case detail::Route::one_kernel: return one_call(p);
    case detail::Route::blocked:
      if (k > 0) return blocked(p);
      break;
    case detail::Route::by_shape: break;
  }
  if (k > 0 && multiply_adds >= blocking.min_multiply_adds && m >= 4 * blocking.rows &&
      !(ta && k > max_blocked_transposed_depth))
    return blocked(p);
#ifdef REWIND_WITH_LIBXSMM
  if (multiply_adds <= max_jit_multiply_adds &&
      jit_kernel_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))
    return;
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

namespace rwd {

void set_num_threads(std::size_t threads) {
  auto fresh = std::make_shared<rwd::detail::ThreadPool>(threads == 0 ? 1 : threads);
  std::lock_guard lock(blas::pool_mutex);
  blas::the_pool = std::move(fresh);
}

std::size_t get_num_threads() { return blas::pool()->size(); }

void blas::detail::set_route(Route r) { blas::route.store(r); }

blas::detail::Blocking blas::detail::set_blocking(const Blocking& blocking) {
  if (blocking.rows == 0 || blocking.cols == 0 || blocking.depth == 0) throw Error("blas: a block size of 0");
  return std::exchange(blas::blocking, blocking);
}

}  // namespace rwd
