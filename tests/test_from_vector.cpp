// rwd::from_vector: data in from a std::vector and a shape, without xtensor.
#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

using namespace rwd;

TEST_SUITE("from_vector") {
  TEST_CASE("values in row-major order, the shape given, gradients as any leaf") {
    const std::vector<double> values{1, 2, 3, 4, 5, 6};
    TensorD x = from_vector(values, {2, 3}, /*requires_grad=*/true);
    CHECK(x.shape() == Shape{2, 3});
    CHECK(x.requires_grad());
    CHECK(x.value()(0, 2) == 3.0);  // row 0, column 2
    CHECK(x.value()(1, 0) == 4.0);
    sum(x * x).backward();  // d/dx Σ x² = 2x
    for (std::size_t i = 0; i < values.size(); ++i) CHECK(x.grad().data()[i] == 2 * values[i]);
    CHECK_FALSE(from_vector(values, {3, 2}).requires_grad());
    CHECK(from_vector(values, {3, 2}).value()(2, 1) == 6.0);
  }

  TEST_CASE("a braced list gives T; 0-D and empty shapes") {
    const TensorF f = from_vector({1.5f, -2.0f}, {2});
    CHECK(f.value()(1) == -2.0f);
    CHECK(from_vector({7.0}, {}).item() == 7.0);  // a 0-D tensor holds one value
    CHECK(from_vector(std::vector<double>{}, {0, 3}).shape() == Shape{0, 3});
  }

  TEST_CASE("a size that disagrees with the shape is an error naming both") {
    CHECK_THROWS_WITH_AS(from_vector(std::vector<double>{1, 2, 3, 4, 5}, {2, 3}),
                         "from_vector: 5 values for shape [2, 3] (6 elements)", Error);
    CHECK_THROWS_WITH_AS(from_vector({1.0, 2.0}, {}), "from_vector: 2 values for shape [] (1 elements)", Error);
  }
}
