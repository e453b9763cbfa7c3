// nn::Embedding: lookup by index, N(0, 1) init, gradients into the picked rows.
#include <doctest/doctest.h>

#include <cmath>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using Inputs = std::vector<TensorD>;

TEST_SUITE("nn_embedding") {
  TEST_CASE("weight is [num_embeddings, embedding_dim], drawn from N(0, 1)") {
    Generator gen(5);
    nn::Embedding<double> table(400, 50, gen);
    REQUIRE(table.named_parameters().size() == 1);
    CHECK(table.named_parameters()[0].first == "weight");
    CHECK(table.weight.shape() == Shape{400, 50});
    CHECK(table.to_string() == "Embedding(400, 50)");
    // 20,000 draws: sample mean within ~4 standard errors (0.007) of 0, variance near 1.
    CHECK(std::abs(xt::mean(table.weight.value())()) < 0.03);
    CHECK(xt::variance(table.weight.value())() == doctest::Approx(1.0).epsilon(0.05));
  }

  TEST_CASE("forward picks rows; the shaped form adds embedding_dim last") {
    nn::Embedding<double> table(3, 2);
    table.weight.mutable_value() = xt::xarray<double>{{0, 1}, {10, 11}, {20, 21}};
    CHECK(table({2, 0, 2}).value() == xt::xarray<double>{{20, 21}, {0, 1}, {20, 21}});
    const auto y = table.forward({0, 1, 2, 1, 1, 0}, {2, 3});  // [T=2, B=3] -> [2, 3, 2]
    REQUIRE(y.shape() == Shape{2, 3, 2});
    CHECK(y.value() == xt::xarray<double>{{{0, 1}, {10, 11}, {20, 21}}, {{10, 11}, {10, 11}, {0, 1}}});
  }

  TEST_CASE("gradients add up over repeated indices (gradcheck, and by hand)") {
    Generator gen(2);
    nn::Embedding<double> table(4, 3, gen);
    const auto f = [&](const std::vector<TensorD>&) { return table.forward({1, 3, 1, 0}, {2, 2}); };
    CHECK_GRAD(f, Inputs{table.weight});
    // d(sum of all outputs)/d weight[i] = (times index i was picked) in every column: [1, 2, 0, 1].
    sum(f({})).backward();
    CHECK(table.weight.grad().value() == xt::xarray<double>{{1, 1, 1}, {2, 2, 2}, {0, 0, 0}, {1, 1, 1}});
  }

  TEST_CASE("errors: index out of range, shape not matching the index count, empty table") {
    nn::Embedding<float> table(5, 2);
    CHECK_THROWS_WITH_AS(table({1, 5}), doctest::Contains("Embedding: index 5 at position 1 is out of range for num_embeddings=5"),
                         Error);
    CHECK_THROWS_WITH_AS(table.forward({1, 2, 3}, {2, 2}), doctest::Contains("Embedding: shape [2, 2] holds 4 indices, got 3"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::Embedding<float>(0, 2), doctest::Contains("Embedding: num_embeddings and embedding_dim must be positive"),
                         Error);
  }
}
