// Scalars of any arithmetic type with float and double tensors: x + 1,
// 1.0 - x, 0.5 * x, x / 2, 2 / x, pow(x, 2), clamp(x, 0, 1). Each value is
// compared with the same formula applied elementwise in T; each gradient with
// its derivative written out by hand. The minimal gated unit of examples/ runs
// in float as in double.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

#include "../examples/minimal_gated_unit.hpp"

using namespace rwd;

namespace {

// x away from 0 (for 2 / x) and from clamp's corners at 0 and 1.
template <class T>
Tensor<T> sample() {
  return Tensor<T>(xt::xarray<T>{T(-1.5), T(0.25), T(0.75), T(2)}, true);
}

// y = op(x), its values against value(x_i) and dL/dx of L = Σ y against slope(x_i).
template <class T>
void check_op(const std::function<Tensor<T>(const Tensor<T>&)>& op, const std::function<double(double)>& value,
              const std::function<double(double)>& slope) {
  const Tensor<T> x = sample<T>();
  const Tensor<T> y = op(x);
  sum(y).backward();
  REQUIRE(y.shape() == x.shape());
  const double tolerance = std::is_same_v<T, float> ? 1e-6 : 1e-14;
  for (std::size_t i = 0; i < x.numel(); ++i) {
    const double xi = x.data()[i];
    INFO("x = ", xi);
    CHECK(y.data()[i] == doctest::Approx(value(xi)).epsilon(tolerance));
    CHECK(x.grad().data()[i] == doctest::Approx(slope(xi)).epsilon(tolerance));
  }
}

}  // namespace

TEST_SUITE("scalars") {
  TEST_CASE_TEMPLATE("int, float and double scalars on either side, values and gradients", T, float, double) {
    using X = const Tensor<T>&;
    check_op<T>([](X x) { return x + 1; }, [](double v) { return v + 1; }, [](double) { return 1.0; });
    check_op<T>([](X x) { return 1.0 - x; }, [](double v) { return 1 - v; }, [](double) { return -1.0; });
    check_op<T>([](X x) { return 0.5 * x; }, [](double v) { return 0.5 * v; }, [](double) { return 0.5; });
    check_op<T>([](X x) { return x / 2; }, [](double v) { return v / 2; }, [](double) { return 0.5; });
    check_op<T>([](X x) { return x - 3u; }, [](double v) { return v - 3; }, [](double) { return 1.0; });
    check_op<T>([](X x) { return 2.5f + x; }, [](double v) { return 2.5 + v; }, [](double) { return 1.0; });
    check_op<T>([](X x) { return x * 4L; }, [](double v) { return 4 * v; }, [](double) { return 4.0; });
    // d(2/x)/dx = -2/x²
    check_op<T>([](X x) { return 2 / x; }, [](double v) { return 2 / v; }, [](double v) { return -2 / (v * v); });
    check_op<T>([](X x) { return pow(x, 2); }, [](double v) { return v * v; }, [](double v) { return 2 * v; });
    check_op<T>([](X x) { return clamp(x, 0, 1); }, [](double v) { return std::clamp(v, 0.0, 1.0); },
                [](double v) { return v > 0 && v < 1 ? 1.0 : 0.0; });
    // A double literal on a float tensor rounds to float first, as in PyTorch.
    const Tensor<T> y = sample<T>() * 0.1;
    CHECK(y.data()[0] == T(-1.5) * static_cast<T>(0.1));
  }

  TEST_CASE("mixed scalar expressions gradient-check in double") {
    auto f = [](const std::vector<TensorD>& in) { return 3 - 2 * in[0] / 4 + 1.5f * (1 / in[0]) - pow(in[0], 3); };
    CHECK_GRAD(f, {sample<double>()});
    CHECK_GRADGRAD(f, {sample<double>()});
  }

  TEST_CASE("the minimal gated unit of examples/ runs in float, close to double") {
    Generator gen(5);
    const MinimalGatedUnit<double> drawn(3, 4, gen);
    const auto as_float = [](const TensorD& t) { return TensorF(xt::xarray<float>(xt::cast<float>(t.value())), true); };
    const auto params = drawn.parameters();  // weight_ih, bias, weight_fh, weight_hh
    const std::vector<TensorF> params_f{as_float(params[0]), as_float(params[1]), as_float(params[2]),
                                        as_float(params[3])};
    const TensorD x = randn<double>({5, 2, 3}, gen);
    const nn::RecurrentOptions options{.input_size = 3, .hidden_size = 4};
    nn::Recurrent<double> in_double(options, [&](std::size_t) {
      return std::make_shared<MinimalGatedUnit<double>>(params[0], params[1], params[2], params[3]);
    });
    nn::Recurrent<float> in_float(options, [&](std::size_t) {
      return std::make_shared<MinimalGatedUnit<float>>(params_f[0], params_f[1], params_f[2], params_f[3]);
    });
    const TensorD y = in_double.forward(x).output;
    const TensorF y_f = in_float.forward(as_float(x).detach()).output;
    REQUIRE(y_f.shape() == y.shape());
    CHECK(xt::allclose(xt::cast<double>(y_f.value()), y.value(), 1e-5, 1e-6));
    sum(y * y).backward();
    sum(y_f * y_f).backward();
    for (std::size_t k = 0; k < params.size(); ++k) {
      INFO("parameter ", k);
      CHECK(xt::allclose(xt::cast<double>(params_f[k].grad().value()), params[k].grad().value(), 1e-4, 1e-6));
    }
  }
}
