// Shared-weight gradients folded by the engine (GradProduct, autograd/tensor.hpp):
// linear and matmul hand dL/dW to the engine as products, which it adds to W's
// gradient as one GEMM over all the steps' rows (or sooner, when the operands
// they hold reach 4× the gradient's size). The reference for every path is the
// same loss differentiated with create_graph, whose backward is recorded ops
// and makes no products, and finite differences (gradcheck) for the loop itself.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

struct Loop {
  TensorD w, u, x0;
  std::vector<TensorD> xs;
};

Loop make_loop(std::size_t batch, std::size_t hidden, std::size_t steps, std::uint64_t seed) {
  Generator gen(seed);
  Loop loop;
  loop.w = randn<double>({hidden, hidden}, gen) * 0.4;
  loop.w.requires_grad_();
  loop.u = randn<double>({hidden, hidden}, gen) * 0.4;
  loop.u.requires_grad_();
  for (std::size_t t = 0; t < steps; ++t) loop.xs.push_back(randn<double>({batch, hidden}, gen));
  return loop;
}

// W at every step through linear and through matmul in each transpose
// combination, U likewise, and W once more outside the loop (elementwise).
TensorD loss_of(const TensorD& w, const TensorD& u, const std::vector<TensorD>& xs) {
  TensorD h = zeros<double>(xs[0].shape());
  TensorD loss = sum(w * w) * 0.1;
  for (std::size_t t = 0; t < xs.size(); ++t) {
    // W as either operand of matmul, transposed or not, and through linear; U likewise
    const TensorD a = linear(h, w) + matmul(xs[t], u, false, true) + transpose(matmul(u, transpose(xs[t])));
    const TensorD b = matmul(h, w) + matmul(h, w, false, true);
    const TensorD c = transpose(matmul(w, h, true, true)) + transpose(matmul(w, transpose(h)));
    h = tanh(a * 0.5 + b * 0.25 + c * 0.25);
    loss = loss + sum(h * h) * 0.5;
  }
  return loss;
}

void check_equal(const TensorD& a, const TensorD& b, const char* what) {
  CAPTURE(what);
  REQUIRE(a.defined());
  REQUIRE(b.defined());
  CHECK(xt::allclose(a.value(), b.value(), 1e-12, 1e-12));
}

}  // namespace

TEST_SUITE("gradient_products") {
  TEST_CASE("a weight used at every step: the folded gradient equals the recorded one and finite differences") {
    // [8, 8] with B = 1: 7 products fit under the bound (folded once, at the
    // end); [2, 2] with B = 1: folded every few steps as they arrive.
    for (std::size_t hidden : {8u, 2u}) {
      CAPTURE(hidden);
      Loop loop = make_loop(1, hidden, 7, 1);
      loss_of(loop.w, loop.u, loop.xs).backward();
      const auto reference = grad<double>({loss_of(loop.w, loop.u, loop.xs)}, {loop.w, loop.u}, {}, false, true);
      check_equal(loop.w.grad(), reference[0], "dL/dW");
      check_equal(loop.u.grad(), reference[1], "dL/dU");
      const auto result = gradcheck<double>(
          [&](const std::vector<TensorD>& in) { return loss_of(in[0], in[1], loop.xs); }, {loop.w, loop.u});
      CHECK_MESSAGE(result.passed(), result);
    }
  }

  TEST_CASE("retain_graph: a second backward adds the same folded gradient again") {
    Loop loop = make_loop(3, 4, 6, 2);
    const TensorD loss = loss_of(loop.w, loop.u, loop.xs);
    loss.backward(/*retain_graph=*/true);
    const xt::xarray<double> once = loop.w.grad().value();
    loss.backward();
    CHECK(xt::allclose(loop.w.grad().value(), 2.0 * once, 1e-13, 1e-13));
  }

  TEST_CASE("grad() returns the folded gradient and leaves .grad() alone") {
    Loop loop = make_loop(2, 3, 5, 3);
    const auto g = grad<double>({loss_of(loop.w, loop.u, loop.xs)}, {loop.w});
    CHECK_FALSE(loop.w.grad().defined());
    loss_of(loop.w, loop.u, loop.xs).backward();
    check_equal(g[0], loop.w.grad(), "grad() vs backward()");
  }

  TEST_CASE("create_graph: second derivatives through the loop (gradgradcheck)") {
    Loop loop = make_loop(1, 2, 3, 4);
    const auto result = gradgradcheck<double>(
        [&](const std::vector<TensorD>& in) { return loss_of(in[0], in[1], loop.xs); }, {loop.w, loop.u});
    CHECK_MESSAGE(result.passed(), result);
  }

  TEST_CASE("a hook on the weight runs once and sees the whole folded gradient") {
    Loop loop = make_loop(2, 4, 6, 5);
    const auto reference = grad<double>({loss_of(loop.w, loop.u, loop.xs)}, {loop.w}, {}, false, true);
    int calls = 0;
    xt::xarray<double> seen;
    loop.w.register_hook([&](const TensorD& g) {
      ++calls;
      seen = g.value();
      return g * 2.0;  // and its replacement is what accumulates
    });
    loss_of(loop.w, loop.u, loop.xs).backward();
    CHECK(calls == 1);
    CHECK(xt::allclose(seen, reference[0].value(), 1e-12, 1e-12));
    CHECK(xt::allclose(loop.w.grad().value(), 2.0 * seen, 1e-12, 1e-12));
  }

  TEST_CASE("a pass that fails halfway leaves no product behind for the next one") {
    for (std::size_t hidden : {8u, 2u}) {
      CAPTURE(hidden);
      Loop loop = make_loop(1, hidden, 7, 6);
      // Fails at step 1's state: the later steps have already handed W their products.
      TensorD h = zeros<double>({1, hidden});
      TensorD loss = Tensor<double>::scalar(0.0);
      for (std::size_t t = 0; t < loop.xs.size(); ++t) {
        h = tanh(linear(h, loop.w) + matmul(loop.xs[t], loop.u, false, true));
        if (t == 1) h.register_hook([](const TensorD&) -> TensorD { throw Error("planted failure"); });
        loss = loss + sum(h * h);
      }
      CHECK_THROWS_WITH_AS(loss.backward(), "planted failure", Error);
      CHECK_FALSE(loop.w.grad().defined());
      // A fresh pass over a fresh graph gets exactly the gradient of a clean run.
      loss_of(loop.w, loop.u, loop.xs).backward();
      const auto reference = grad<double>({loss_of(loop.w, loop.u, loop.xs)}, {loop.w}, {}, false, true);
      check_equal(loop.w.grad(), reference[0], "after the failed pass");
    }
  }

  TEST_CASE("anomaly mode names the op whose gradient product is not finite") {
    DetectAnomalyGuard anomaly;
    const float big = 1e30f;
    TensorF w = full<float>({1, 1}, 1e-30f, true);
    TensorF x = full<float>({1, 1}, big);
    const TensorF loss = sum(linear(x, w) * big);  // forward finite; dL/dW = 1e30 · 1e30 = inf
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("backward of op 'linear' produced NaN or Inf"), Error);
  }

  TEST_CASE("a user's backward may return a std::vector of gradients") {
    const TensorD x(xt::xarray<double>{1.0, 2.0}, true);
    const TensorD y = record<double>("twice", xt::xarray<double>(2.0 * x.value()), {x},
                                     [](const auto&, const auto&, const TensorD& g) {
                                       return std::vector<TensorD>{g * 2.0};
                                     });
    sum(y).backward();
    CHECK(xt::allclose(x.grad().value(), xt::xarray<double>{2.0, 2.0}));
  }
}
