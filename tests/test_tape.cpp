// The tape: recording, accumulation over shared uses, graph hygiene.
#include <cmath>

#include <doctest/doctest.h>

#include <rewind/autograd/node.hpp>  // the tests watch nodes die
#include <rewind/rewind.hpp>

using namespace rwd;

TEST_SUITE("tape") {
  TEST_CASE("a weight used at many steps receives the sum of its contributions") {
    // y = w·x1 + w·x2 + w·x3, so dy/dw = x1 + x2 + x3 = 6, dy/dx_i = w = 0.5.
    auto w = TensorD::scalar(0.5, true);
    std::vector<TensorD> xs;
    for (double v : {1.0, 2.0, 3.0}) xs.push_back(TensorD::scalar(v, true));
    auto y = w * xs[0] + w * xs[1] + w * xs[2];
    y.backward();
    CHECK(w.grad().item() == doctest::Approx(6.0));
    for (auto& x : xs) CHECK(x.grad().item() == doctest::Approx(0.5));
  }

  TEST_CASE("backward accumulates across calls until zero_grad") {
    auto w = TensorD::scalar(3.0, true);
    (w * w).backward();  // d(w²)/dw = 2w = 6
    (w * w).backward();
    CHECK(w.grad().item() == doctest::Approx(12.0));
    w.zero_grad();
    CHECK_FALSE(w.grad().defined());
  }

  TEST_CASE("backward twice through a freed graph throws; retain_graph keeps it") {
    // y = tanh(w²): dy/dw = (1 - tanh²(w²)) · 2w, and the second pass over the
    // retained graph adds the same again.
    const double w0 = 0.5;
    const double dy_dw = (1 - std::tanh(w0 * w0) * std::tanh(w0 * w0)) * 2 * w0;
    auto w = TensorD::scalar(w0, true);
    auto y = tanh(w * w);
    y.backward(/*retain_graph=*/true);
    CHECK(w.grad().item() == doctest::Approx(dy_dw).epsilon(1e-14));
    y.backward();
    CHECK(w.grad().item() == doctest::Approx(2 * dy_dw).epsilon(1e-14));
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("backward through the graph a second time"), Error);
    CHECK(w.grad().item() == doctest::Approx(2 * dy_dw).epsilon(1e-14));  // the refused pass added nothing
  }

  TEST_CASE("no_grad records nothing; detach cuts the graph") {
    auto w = TensorD::scalar(3.0, true);
    {
      NoGradGuard guard;
      auto y = w * w;
      CHECK_FALSE(y.requires_grad());
      CHECK(y.is_leaf());
    }
    auto d = (w * w).detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.item() == 9.0);
  }

  TEST_CASE("a 100,000-step chain is recorded, differentiated and freed without recursion") {
    // y = x·1·1·…·1 (100,000 muls), dy/dx = 1.
    auto x = TensorD::scalar(2.0, true);
    auto one = TensorD::scalar(1.0);
    TensorD y = x;
    for (int i = 0; i < 100000; ++i) y = y * one;
    y.backward();
    CHECK(x.grad().item() == 1.0);
    auto z = x;
    for (int i = 0; i < 100000; ++i) z = z * one;  // dropped without backward: iterative destructor
  }

  TEST_CASE("freeing the loss frees the tape") {
    auto w = TensorD::scalar(1.5, true);
    std::weak_ptr<detail::TensorImpl<double>> intermediate;
    {
      auto h = tanh(w);
      intermediate = detail::impl_ptr(h);
      auto loss = h * h;
      h = TensorD();
      CHECK_FALSE(intermediate.expired());  // the loss owns it
    }
    CHECK(intermediate.expired());
  }

  TEST_CASE("seed shape and non-scalar outputs are checked") {
    auto w = TensorD({1.0, 2.0}).requires_grad_();
    auto y = w * w;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("seed gradient is needed for a non-scalar output of shape [2]"),
                         Error);
    CHECK_THROWS_WITH_AS(y.backward(TensorD({1.0})),
                         "backward: seed gradient has shape [1] whereas the output has shape [2]", Error);
    y.backward(TensorD({1.0, 1.0}));
    CHECK(w.grad().value()(1) == doctest::Approx(4.0));
  }
}
