// Second derivatives through grad(..., create_graph=true): Hessian-vector
// products against a Hessian derived by hand, and through an unrolled tanh RNN
// against finite differences of the gradient.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <rewind/rewind.hpp>

#include "tanh_rnn.hpp"
#include "test_support.hpp"

using namespace rwd;

using test_support::check_close;

namespace {

using In = std::vector<TensorD>;

// Hv = ∂/∂θ (∇f(θ) · v), the gradient recorded once and differentiated again.
In hessian_vector_product(const std::function<TensorD(const In&)>& f, const In& params, const In& v) {
  const TensorD value = f(params);
  const In gradient = grad<double>({value}, params, {}, /*retain_graph=*/false, /*create_graph=*/true);
  TensorD directional = sum(gradient[0] * v[0]);
  for (std::size_t i = 1; i < params.size(); ++i) directional = directional + sum(gradient[i] * v[i]);
  return grad<double>({directional}, params, {}, false, false, /*allow_unused=*/true);
}

}  // namespace

TEST_SUITE("higher_order") {
  TEST_CASE("Hessian-vector product of f(x) = Σ x³ + (Σ x)², derived by hand") {
    // ∇f = 3x² + 2(Σx)·1,   H = diag(6x) + 2·11ᵀ,   so  Hv = 6 x ⊙ v + 2 (Σv)·1.
    TensorD x = TensorD({0.5, -1.0, 2.0, 1.5}).requires_grad_();
    TensorD v({1.0, 2.0, -1.0, 0.5});
    auto f = [](const In& p) {
      const TensorD total = sum(p[0]);
      return sum(pow(p[0], 3.0)) + total * total;
    };
    const In hv = hessian_vector_product(f, {x}, {v});
    const double sum_v = 1.0 + 2.0 - 1.0 + 0.5;
    xt::xarray<double> expected = 6.0 * x.value() * v.value() + 2.0 * sum_v;
    check_close(hv[0].value(), expected, 1e-12);
  }

  TEST_CASE("Hessian-vector product with cross terms: f(x, y) = Σ x² ⊙ y") {
    // ∂²f/∂x² = diag(2y),  ∂²f/∂x∂y = diag(2x),  ∂²f/∂y² = 0, so for v = (a, b):
    //   (Hv)_x = 2y ⊙ a + 2x ⊙ b,   (Hv)_y = 2x ⊙ a.
    TensorD x = TensorD({1.0, -2.0, 0.5}).requires_grad_();
    TensorD y = TensorD({3.0, 0.25, -1.0}).requires_grad_();
    TensorD a({0.5, 1.0, 2.0}), b({-1.0, 3.0, 1.0});
    const In hv = hessian_vector_product([](const In& p) { return sum(p[0] * p[0] * p[1]); }, {x, y}, {a, b});
    check_close(hv[0].value(), xt::xarray<double>(2.0 * y.value() * a.value() + 2.0 * x.value() * b.value()), 1e-12);
    check_close(hv[1].value(), xt::xarray<double>(2.0 * x.value() * a.value()), 1e-12);
  }

  TEST_CASE("Hessian-vector product through a 3-step tanh RNN matches finite differences of the gradient") {
    // θ = (W_ih, W_hh, b);  L(θ) = Σ_t Σ (h_t - y_t)² / 2.
    // (Hv) ≈ (∇L(θ + εv) - ∇L(θ - εv)) / 2ε, each gradient a plain first-order backward.
    Generator gen(99);
    const std::size_t steps = 3, batch = 2, input_size = 3, hidden_size = 4;
    const rnn_test::Layer layer = rnn_test::make_layer(input_size, hidden_size, gen);
    std::vector<TensorD> xs, targets;
    for (std::size_t t = 0; t < steps; ++t) {
      xs.push_back(randn<double>({batch, input_size}, gen));
      targets.push_back(randn<double>({batch, hidden_size}, gen) * 0.5);
    }
    const TensorD h0 = zeros<double>({batch, hidden_size});
    auto loss = [&](const In& p) {
      const auto hs = rnn_test::unroll({p[0], p[1], p[2]}, xs, h0);
      TensorD total = TensorD::scalar(0.0);
      for (std::size_t t = 0; t < steps; ++t) {
        const TensorD error = hs[t] - targets[t];
        total = total + sum(error * error) * 0.5;
      }
      return total;
    };
    const In params = {layer.weight_ih, layer.weight_hh, layer.bias};
    In v;
    for (const auto& p : params) v.push_back(randn<double>(p.shape(), gen));

    const In hv = hessian_vector_product(loss, params, v);

    const double eps = 1e-5;
    auto gradient_at = [&](double step) {
      In shifted;
      for (std::size_t i = 0; i < params.size(); ++i)
        shifted.push_back(TensorD(xt::xarray<double>(params[i].value() + step * v[i].value()), true));
      return grad<double>({loss(shifted)}, shifted);
    };
    const In plus = gradient_at(eps), minus = gradient_at(-eps);
    for (std::size_t i = 0; i < params.size(); ++i) {
      CAPTURE(i);
      const xt::xarray<double> numeric = (plus[i].value() - minus[i].value()) / (2 * eps);
      check_close(hv[i].value(), numeric, 1e-6);
    }
  }

  TEST_CASE("create_graph decides whether the gradient is itself recorded") {
    TensorD x = TensorD({0.5, 2.0}).requires_grad_();
    // d(Σ x³)/dx = 3x²
    const TensorD plain = grad<double>({sum(pow(x, 3.0))}, {x})[0];
    CHECK_FALSE(plain.requires_grad());
    CHECK(plain.is_leaf());  // nothing was recorded
    CHECK(plain.value()(1) == doctest::Approx(12.0));

    const TensorD recorded = grad<double>({sum(pow(x, 3.0))}, {x}, {}, false, /*create_graph=*/true)[0];
    CHECK(recorded.requires_grad());
    CHECK_FALSE(recorded.is_leaf());
    // ... and differentiable: d(Σ 3x²)/dx = 6x.
    const TensorD second = grad<double>({sum(recorded)}, {x})[0];
    CHECK(second.value()(0) == doctest::Approx(3.0));
    CHECK(second.value()(1) == doctest::Approx(12.0));

    // backward() likewise: without create_graph .grad is a plain value.
    sum(x * x).backward();
    CHECK_FALSE(x.grad().requires_grad());
    CHECK(x.grad().is_leaf());
  }
}
