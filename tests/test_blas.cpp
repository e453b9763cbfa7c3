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
#include <rewind/autograd/engine.hpp>
#include <rewind/autograd/threads.hpp>

namespace {

struct Case {
  std::size_t m, n, k;
};

// C = alpha op(A) op(B) + beta C on row-major operands with leading dimensions
// padded by `pad` (a sub-matrix of a wider array); C's padding must be untouched.
template <class T>
struct Operands {
  std::size_t lda, ldb, ldc;
  std::vector<T> a, b, c;
};

// C = alpha op(A) op(B) + beta C through rwd::blas::gemm; the operands and the result.
template <class T>
Operands<T> run_gemm(bool ta, bool tb, Case s, T alpha, T beta, std::size_t pad) {
  const std::size_t a_rows = ta ? s.k : s.m, a_cols = ta ? s.m : s.k;
  const std::size_t b_rows = tb ? s.n : s.k, b_cols = tb ? s.k : s.n;
  Operands<T> o{a_cols + pad, b_cols + pad, s.n + pad, {}, {}, {}};
  o.a.resize(a_rows * o.lda), o.b.resize(b_rows * o.ldb), o.c.resize(s.m * o.ldc);
  for (std::size_t i = 0; i < o.a.size(); ++i) o.a[i] = T(int(i * 7 % 13) - 6) / T(8);
  for (std::size_t i = 0; i < o.b.size(); ++i) o.b[i] = T(int(i * 5 % 11) - 5) / T(4);
  // beta = 0 must not read C (BLAS's rule): NaN there must not leak through.
  const T start = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : T(0.5);
  for (std::size_t i = 0; i < o.c.size(); ++i) o.c[i] = start + T(i % 3);
  rwd::blas::gemm(ta, tb, s.m, s.n, s.k, alpha, o.a.data(), o.lda, o.b.data(), o.ldb, beta, o.c.data(), o.ldc);
  return o;
}

template <class T>
void check_gemm(bool ta, bool tb, Case s, T alpha, T beta, std::size_t pad) {
  const Operands<T> o = run_gemm(ta, tb, s, alpha, beta, pad);
  const std::vector<T>&a = o.a, &b = o.b, &c = o.c;
  const std::size_t lda = o.lda, ldb = o.ldb, ldc = o.ldc;
  std::vector<T> c0(c.size());
  const T start = beta == T(0) ? std::numeric_limits<T>::quiet_NaN() : T(0.5);
  for (std::size_t i = 0; i < c0.size(); ++i) c0[i] = start + T(i % 3);
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

// A step's shapes (B rows; H or G·H columns), a thin weight gradient, odd sizes.
const Case cases[] = {Case{1, 1, 1},   Case{1, 32, 32}, Case{1, 128, 32}, Case{32, 32, 32},
                      Case{32, 96, 24}, Case{7, 5, 3},   Case{3, 17, 64},  Case{64, 48, 2}};

template <class T>
void check_all() {
  for (Case s : cases)
    for (int t = 0; t < 4; ++t)
      for (T alpha : {T(1), T(0.5)})
        for (T beta : {T(0), T(1), T(0.25)})
          for (std::size_t pad : {0, 3}) check_gemm<T>(t & 1, t & 2, s, alpha, beta, pad);
}

// Every case of check_all as blocked products (blocks of 4 x 8 over K slices
// of 16, so that every case has several blocks, edge blocks and slices): the
// triple loop's answer, and the same bits on 1, 2 and 3 threads.
template <class T>
void check_all_blocked() {
  namespace detail = rwd::blas::detail;
  const detail::Blocking before = detail::set_blocking({4, 8, 16, 0});
  detail::set_route(detail::Route::blocked);
  for (Case s : cases)
    for (int t = 0; t < 4; ++t)
      for (T alpha : {T(1), T(0.5)})
        for (T beta : {T(0), T(1), T(0.25)}) {
          rwd::set_num_threads(1);
          check_gemm<T>(t & 1, t & 2, s, alpha, beta, 3);
          const std::vector<T> one = run_gemm<T>(t & 1, t & 2, s, alpha, beta, 3).c;
          for (std::size_t threads : {2, 3}) {
            rwd::set_num_threads(threads);
            const std::vector<T> many = run_gemm<T>(t & 1, t & 2, s, alpha, beta, 3).c;
            INFO("ta=" << (t & 1) << " tb=" << (t & 2) << " m=" << s.m << " n=" << s.n << " k=" << s.k
                       << " alpha=" << alpha << " beta=" << beta << " threads=" << threads);
            REQUIRE(std::memcmp(one.data(), many.data(), one.size() * sizeof(T)) == 0);
          }
        }
  rwd::set_num_threads(1);
  detail::set_route(detail::Route::by_shape);
  detail::set_blocking(before);
}

}  // namespace

TEST_SUITE("blas") {
  TEST_CASE("gemm equals the triple loop: every transpose, alpha, beta and stride (float)") { check_all<float>(); }
  TEST_CASE("gemm equals the triple loop: every transpose, alpha, beta and stride (double)") { check_all<double>(); }
  TEST_CASE("blocked products: the triple loop's answer, the same bits on 1, 2 and 3 threads (float)") {
    check_all_blocked<float>();
  }
  TEST_CASE("blocked products: the triple loop's answer, the same bits on 1, 2 and 3 threads (double)") {
    check_all_blocked<double>();
  }
  TEST_CASE("a sequence-wide product is blocked by shape and gives the same bits on 1 and 2 threads") {
    // 320 x 600 x 64 = 12.3M multiply-adds: over the 2^22 threshold, 5 x 2 blocks (64 x 512).
    for (int t = 0; t < 4; ++t) {
      rwd::set_num_threads(1);
      const auto one = run_gemm<float>(t & 1, t & 2, Case{320, 600, 64}, 1.f, 1.f, 0).c;
      rwd::set_num_threads(2);
      const auto two = run_gemm<float>(t & 1, t & 2, Case{320, 600, 64}, 1.f, 1.f, 0).c;
      rwd::set_num_threads(1);
      CHECK(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
    }
    check_gemm<float>(false, true, Case{320, 600, 64}, 1.f, 1.f, 0);
    CHECK(rwd::get_num_threads() == 1);
    rwd::set_num_threads(0);
    CHECK(rwd::get_num_threads() == 1);
  }
  TEST_CASE("a block size of 0 is refused") {
    CHECK_THROWS_WITH_AS(rwd::blas::detail::set_blocking({0, 8, 16, 0}), "blas: a block size of 0", rwd::Error);
  }
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
