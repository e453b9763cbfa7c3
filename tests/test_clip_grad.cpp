// Gradient clipping: the total norm and the scaling, computed by hand here.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <rewind/rewind.hpp>

using namespace rwd;
using namespace rwd::optim;

namespace {
// Two parameters whose gradients are set directly: g_a = [3, -4], g_b = [[12]].
struct GradFixture {
  TensorD a = TensorD({0.0, 0.0}).requires_grad_();
  TensorD b = full<double>({1, 1}, 0.0).requires_grad_();
  TensorD none = TensorD({1.0}).requires_grad_();  // never gets a gradient
  GradFixture() {
    a.set_grad(TensorD({3.0, -4.0}));
    b.set_grad(full<double>({1, 1}, 12.0));
  }
  std::vector<TensorD> params() const { return {a, b, none}; }
};
}  // namespace

TEST_SUITE("clip_grad") {
  TEST_CASE("clip_grad_norm_ returns the norm before clipping and scales by max_norm/(norm + 1e-6)") {
    GradFixture g;
    // ‖(3, −4, 12)‖₂ = 13
    const double norm = clip_grad_norm_(g.params(), 6.5);
    CHECK(norm == doctest::Approx(13.0).epsilon(1e-15));
    const double coef = 6.5 / (13.0 + 1e-6);
    CHECK(g.a.grad().value()(0) == doctest::Approx(3.0 * coef).epsilon(1e-15));
    CHECK(g.a.grad().value()(1) == doctest::Approx(-4.0 * coef).epsilon(1e-15));
    CHECK(g.b.grad().value()(0, 0) == doctest::Approx(12.0 * coef).epsilon(1e-15));
    CHECK_FALSE(g.none.grad().defined());
  }

  TEST_CASE("clip_grad_norm_ leaves gradients below max_norm untouched") {
    GradFixture g;
    CHECK(clip_grad_norm_(g.params(), 13.0) == doctest::Approx(13.0));  // coef = 13/(13 + 1e-6) < 1: clipped
    CHECK(g.a.grad().value()(0) < 3.0);
    GradFixture h;
    CHECK(clip_grad_norm_(h.params(), 20.0) == doctest::Approx(13.0));
    CHECK(h.a.grad().value()(0) == 3.0);
    CHECK(h.b.grad().value()(0, 0) == 12.0);
  }

  TEST_CASE("other norm types: 1, 3 and infinity") {
    GradFixture g1;
    CHECK(clip_grad_norm_(g1.params(), 100.0, 1.0) == doctest::Approx(19.0));  // 3 + 4 + 12
    GradFixture g3;
    CHECK(clip_grad_norm_(g3.params(), 100.0, 3.0) == doctest::Approx(std::cbrt(27.0 + 64.0 + 1728.0)));
    GradFixture ginf;
    CHECK(clip_grad_norm_(ginf.params(), 6.0, inf_norm) == 12.0);
    CHECK(ginf.b.grad().value()(0, 0) == doctest::Approx(12.0 * 6.0 / (12.0 + 1e-6)));
  }

  TEST_CASE("a non-finite norm is returned without clipping, or throws with error_if_nonfinite") {
    GradFixture g;
    g.b.grad().mutable_value()(0, 0) = std::numeric_limits<double>::quiet_NaN();
    const double norm = clip_grad_norm_(g.params(), 1.0);
    CHECK(std::isnan(norm));
    CHECK(g.a.grad().value()(0) == 3.0);  // not multiplied by NaN
    CHECK_THROWS_WITH_AS(clip_grad_norm_(g.params(), 1.0, 2.0, true),
                         doctest::Contains("clip_grad_norm_: the total norm of order 2 of the gradients is "
                                           "non-finite (nan), first non-finite gradient: parameter 1 of shape [1, 1]"),
                         Error);
    GradFixture h;
    h.a.grad().mutable_value()(1) = std::numeric_limits<double>::infinity();
    CHECK(std::isinf(clip_grad_norm_(h.params(), 1.0, inf_norm)));
    CHECK(h.b.grad().value()(0, 0) == 12.0);
  }

  TEST_CASE("clip_grad_value_ clamps each element; bad arguments throw") {
    GradFixture g;
    clip_grad_value_(g.params(), 3.5);
    CHECK(g.a.grad().value()(0) == 3.0);
    CHECK(g.a.grad().value()(1) == -3.5);
    CHECK(g.b.grad().value()(0, 0) == 3.5);
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(clip_grad_value_(g.params(), -1.0), Contains("clip_grad_value_: invalid clip_value"), Error);
    CHECK_THROWS_WITH_AS(clip_grad_norm_(g.params(), -1.0), Contains("clip_grad_norm_: invalid max_norm"), Error);
    CHECK_THROWS_WITH_AS(clip_grad_norm_(g.params(), 1.0, 0.0), Contains("invalid norm_type"), Error);
    CHECK(clip_grad_norm_(std::vector<TensorD>{g.none}, 1.0) == 0.0);  // no gradients at all
  }

  TEST_CASE("clip_grad_norm_ works in float too") {
    auto w = TensorF({0.0f, 0.0f}).requires_grad_();
    w.set_grad(TensorF({6.0f, 8.0f}));
    CHECK(clip_grad_norm_(std::vector<TensorF>{w}, 5.0) == doctest::Approx(10.0));
    CHECK(w.grad().value()(0) == doctest::Approx(3.0f).epsilon(1e-6));
  }
}
