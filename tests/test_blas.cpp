// rwd::blas::gemm, the one door to BLAS: every transpose combination, alpha and
// beta, strided operands, against a plain triple loop in long double. Products
// go to libxsmm's JIT kernels or to OpenBLAS by shape (autograd/blas.cpp); both
// must give the same answer as the loop.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <rewind/autograd/blas.hpp>

namespace {

struct Case {
  std::size_t m, n, k;
};

// C = alpha op(A) op(B) + beta C on row-major operands with leading dimensions
// padded by `pad` (a sub-matrix of a wider array); C's padding must be untouched.
template <class T>
void check_gemm(bool ta, bool tb, Case s, T alpha, T beta, std::size_t pad) {
  const std::size_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
  const std::size_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
  const std::size_t lda = a_cols + pad, ldb = b_cols + pad, ldc = s.n + pad;
  std::vector<T> a(a_rows * lda), b(b_rows * ldb), c(s.m * ldc);
  for (std::size_t i = 0; i < a.size(); ++i) a[i] = T(int(i * 7 % 13) - 6) / T(8);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = T(int(i * 5 % 11) - 5) / T(4);
  // beta = 0 must not read C (BLAS's rule): NaN there must not leak through.
  const T start = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : T(0.5);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = start + T(i % 3);
  const std::vector<T> c0 = c;
  rwd::blas::gemm(ta, tb, s.m, s.n, s.k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  for (std::size_t i = 0; i < s.m; ++i) {
    for (std::size_t j = 0; j < s.n; ++j) {
      long double sum = 0;
      for (std::size_t p = 0; p < s.k; ++p) {
        const T x = ta ? a[p * lda + i] : a[i * lda + p];
        const T y = tb ? b[j * ldb + p] : b[p * ldb + j];
        sum += static_cast<long double>(x) * y;
      }
      const long double before = beta == T(0) ? 0.0L : static_cast<long double>(c0[i * ldc + j]);
      const long double want = alpha * sum + beta * before;
      const double tolerance = (sizeof(T) == 4 ? 1e-5 : 1e-12) * (1.0 + double(s.k));
      INFO("ta=" << ta << " tb=" << tb << " m=" << s.m << " n=" << s.n << " k=" << s.k << " alpha=" << alpha
                 << " beta=" << beta << " pad=" << pad << " at (" << i << ", " << j << ")");
      REQUIRE(std::fabs(double(c[i * ldc + j]) - double(want)) <= tolerance);
    }
    for (std::size_t j = s.n; j < ldc; ++j)  // padding untouched (bitwise: it may hold NaN)
      REQUIRE(std::memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(T)) == 0);
  }
}

template <class T>
void check_all() {
  // A step's shapes (B rows; H or G·H columns), a thin weight gradient, odd sizes.
  for (Case s : {Case{1, 1, 1}, Case{1, 32, 32}, Case{1, 128, 32}, Case{32, 32, 32}, Case{32, 96, 24}, Case{7, 5, 3},
                 Case{3, 17, 64}, Case{64, 48, 2}})
    for (int t = 0; t < 4; ++t)
      for (T alpha : {T(1), T(0.5)})
        for (T beta : {T(0), T(1), T(0.25)})
          for (std::size_t pad : {0, 3}) check_gemm<T>(t & 1, t & 2, s, alpha, beta, pad);
}

}  // namespace

TEST_SUITE("blas") {
  TEST_CASE("gemm equals the triple loop: every transpose, alpha, beta and stride (float)") { check_all<float>(); }
  TEST_CASE("gemm equals the triple loop: every transpose, alpha, beta and stride (double)") { check_all<double>(); }
  TEST_CASE("a step's product h Wᵀ is the same through W and through a kept Wᵀ") {
    for (Case s : {Case{1, 32, 32}, Case{32, 96, 24}, Case{4, 512, 128}, Case{20, 384, 96}}) {
      std::vector<float> h(s.m * s.k), w(s.n * s.k), by_flag(s.m * s.n, 0.5f), by_copy(s.m * s.n, 0.5f);
      for (std::size_t i = 0; i < h.size(); ++i) h[i] = float(int(i % 9) - 4) / 8;
      for (std::size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 7) - 3) / 4;
      std::vector<float> w_t(s.n * s.k);
      rwd::blas::transpose_into(s.n, s.k, w.data(), w_t.data());
      for (std::size_t i = 0; i < s.n; ++i)
        for (std::size_t j = 0; j < s.k; ++j) REQUIRE(w_t[j * s.n + i] == w[i * s.k + j]);
      const auto kept = rwd::blas::kept_transpose(s.m, s.n, s.k, w.data());
      CHECK((kept.empty() ? !rwd::blas::keep_transposed_weight(s.m, s.n, s.k) : kept == w_t));
      rwd::blas::times_weight_transposed(s.m, s.n, s.k, h.data(), s.k, w.data(), static_cast<const float*>(nullptr), 1.f, by_flag.data(), s.n);
      rwd::blas::times_weight_transposed(s.m, s.n, s.k, h.data(), s.k, w.data(), w_t.data(), 1.f, by_copy.data(), s.n);
      for (std::size_t i = 0; i < by_flag.size(); ++i) REQUIRE(by_copy[i] == doctest::Approx(by_flag[i]).epsilon(1e-5));
      check_gemm<float>(false, true, s, 1.f, 1.f, 0);
    }
  }
  TEST_CASE("gemm with m or n zero writes nothing; with k zero scales C by beta") {
    std::vector<float> a(4, 1), b(4, 1), c{1, 2, 3, 4};
    rwd::blas::gemm(false, false, 0, 2, 2, 1.f, a.data(), 2, b.data(), 2, 0.f, c.data(), 2);
    CHECK(c == std::vector<float>{1, 2, 3, 4});
    rwd::blas::gemm(false, false, 2, 2, 0, 1.f, a.data(), 1, b.data(), 2, 0.5f, c.data(), 2);
    CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2});
  }
}
