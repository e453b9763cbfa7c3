// nn::Linear: PyTorch's names, shapes and default init; forward on [N, in] and
// [T, B, in]; gradients by gradcheck.
#include <doctest/doctest.h>

#include <cmath>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using Inputs = std::vector<TensorD>;

TEST_SUITE("nn_linear") {
  TEST_CASE("parameters carry PyTorch's names and shapes") {
    nn::Linear<double> layer(4, 3);
    const auto named = layer.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "weight");
    CHECK(named[0].second.shape() == Shape{3, 4});
    CHECK(named[1].first == "bias");
    CHECK(named[1].second.shape() == Shape{3});
    CHECK(layer.weight.requires_grad());
    CHECK(layer.to_string() == "Linear(in_features=4, out_features=3, bias=True)");

    nn::Linear<float> no_bias(4, 3, /*bias=*/false);
    CHECK(no_bias.named_parameters().size() == 1);
    CHECK_FALSE(no_bias.bias.defined());
    CHECK(no_bias.to_string() == "Linear(in_features=4, out_features=3, bias=False)");
  }

  TEST_CASE("default init is U(-1/sqrt(in), 1/sqrt(in)) for weight and bias") {
    // in = 100: bound 0.1. A uniform on [-b, b] has mean 0 and variance b²/3.
    Generator gen(7);
    nn::Linear<double> layer(100, 200, true, gen);
    const double bound = 0.1;
    for (const auto& p : {layer.weight, layer.bias}) {
      CHECK(xt::amax(xt::abs(p.value()))() <= bound);
    }
    const auto& w = layer.weight.value();
    const double mean = xt::mean(w)(), variance = xt::variance(w)();
    CHECK(std::abs(mean) < 0.005);
    CHECK(variance == doctest::Approx(bound * bound / 3).epsilon(0.05));
    // The bias uses the weight's bound 1/sqrt(in), not 1/sqrt(out): over 200 draws
    // some exceed 1/sqrt(200) ≈ 0.0707.
    CHECK(xt::amax(xt::abs(layer.bias.value()))() > 0.08);

    Generator same(7);
    nn::Linear<double> again(100, 200, true, same);
    CHECK(again.weight.value() == layer.weight.value());  // seeded init is reproducible
  }

  TEST_CASE("forward computes x Wᵀ + b (values by hand)") {
    nn::Linear<double> layer(2, 3);
    layer.weight.mutable_value() = xt::xarray<double>{{1, 2}, {3, 4}, {5, 6}};
    layer.bias.mutable_value() = xt::xarray<double>{0.5, -1, 2};
    // Row [1, 1]: [1+2+0.5, 3+4-1, 5+6+2] = [3.5, 6, 13]; row [2, -1]: [2-2+0.5, 6-4-1, 10-6+2] = [0.5, 1, 6].
    const auto y = layer(TensorD{{1, 1}, {2, -1}});
    CHECK(y.value() == xt::xarray<double>{{3.5, 6, 13}, {0.5, 1, 6}});
  }

  TEST_CASE("a [T, B, in] input gives each step's [B, in] result") {
    Generator gen(1);
    nn::Linear<double> layer(3, 2, true, gen);
    const auto x = randn<double>({4, 5, 3}, gen);
    const auto y = layer(x);
    REQUIRE(y.shape() == Shape{4, 5, 2});
    for (std::size_t t = 0; t < 4; ++t) {
      const auto step = layer(select(x, 0, t));
      CHECK(xt::allclose(select(y, 0, t).value(), step.value()));
    }
    // 1-D and 4-D inputs go through the same product.
    CHECK(layer(select(select(x, 0, 0), 0, 0)).shape() == Shape{2});
    CHECK(layer(reshape(x, {2, 2, 5, 3})).shape() == Shape{2, 2, 5, 2});
    CHECK(xt::allclose(reshape(layer(reshape(x, {2, 2, 5, 3})), {4, 5, 2}).value(), y.value()));
  }

  TEST_CASE("gradcheck: input, weight and bias, for [N, in] and [T, B, in]") {
    Generator gen(3);
    nn::Linear<double> layer(3, 2, true, gen);
    auto x2 = randn<double>({4, 3}, gen, true);
    auto x3 = randn<double>({2, 3, 3}, gen, true);
    const auto f = [&](const std::vector<TensorD>& in) { return layer(in[0]); };
    CHECK_GRAD(f, Inputs{x2, layer.weight, layer.bias});
    CHECK_GRAD(f, Inputs{x3, layer.weight, layer.bias});
    CHECK_GRAD(f, Inputs{reshape(x3, {1, 2, 3, 3}).detach().requires_grad_(), layer.weight, layer.bias});
  }

  TEST_CASE("errors name the layer and the shapes") {
    nn::Linear<float> layer(4, 3);
    CHECK_THROWS_WITH_AS(layer(zeros<float>({2, 5})), doctest::Contains("Linear: input has shape [2, 5], expected [..., 4]"),
                         Error);
    CHECK_THROWS_WITH_AS(layer(TensorF::scalar(1.0f)), doctest::Contains("Linear: input has shape []"), Error);
    CHECK_THROWS_WITH_AS(nn::Linear<float>(0, 3), doctest::Contains("Linear: in_features and out_features must be positive"),
                         Error);
  }
}
