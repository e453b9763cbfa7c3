// nn::init: each initialiser checked against the property that defines it.
#include <doctest/doctest.h>

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xsort.hpp>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

// max |A Aᵀ - I| (rows orthonormal) or max |Aᵀ A - I| (columns orthonormal) of a row-major [rows, cols] matrix.
double orthonormality_error(const TensorD& a, bool rows) {
  const std::size_t r = a.size(0), c = a.numel() / r;
  const std::size_t n = rows ? r : c, len = rows ? c : r;
  auto at = [&](std::size_t vector, std::size_t k) { return rows ? a.data()[vector * c + k] : a.data()[k * c + vector]; };
  double worst = 0;
  for (std::size_t p = 0; p < n; ++p)
    for (std::size_t q = 0; q < n; ++q) {
      double dot = 0;
      for (std::size_t k = 0; k < len; ++k) dot += at(p, k) * at(q, k);
      worst = std::max(worst, std::abs(dot - (p == q ? 1.0 : 0.0)));
    }
  return worst;
}

}  // namespace

TEST_SUITE("nn_init") {
  TEST_CASE("uniform_ fills [low, high), covers the range, and is reproducible from the seed") {
    Generator a(3), b(3);
    auto x = nn::init::uniform_(zeros<double>({50, 40}), -0.5, 2.0, a);
    auto y = nn::init::uniform_(zeros<double>({50, 40}), -0.5, 2.0, b);
    CHECK(xt::amin(x.value())() >= -0.5);
    CHECK(xt::amax(x.value())() < 2.0);
    CHECK(xt::amin(x.value())() < -0.45);  // 2000 draws: the ends are reached
    CHECK(xt::amax(x.value())() > 1.95);
    CHECK(xt::mean(x.value())() == doctest::Approx(0.75).epsilon(0.05));
    CHECK(x.value() == y.value());
    CHECK_THROWS_WITH_AS(nn::init::uniform_(zeros<double>({2}), 1.0, 0.0), doctest::Contains("uniform_: low"), Error);
  }

  TEST_CASE("zeros_ writes in place through the handle") {
    auto w = ones<float>({3, 2}, true);
    auto same = w;
    nn::init::zeros_(w);
    CHECK(xt::all(xt::equal(same.value(), 0.0f)));
    CHECK(same.requires_grad());
  }

  TEST_CASE("xavier_uniform_ bound is gain·sqrt(6 / (fan_in + fan_out))") {
    Generator gen(1);
    // [30, 20]: fan_in 20, fan_out 30 -> a = 2·sqrt(6/50)
    auto w = nn::init::xavier_uniform_(zeros<double>({30, 20}), 2.0, gen);
    const double a = 2.0 * std::sqrt(6.0 / 50.0);
    CHECK(xt::amax(xt::abs(w.value()))() <= a);
    CHECK(xt::amax(xt::abs(w.value()))() > 0.95 * a);
    // [4, 3, 5]: receptive field 5, fan_in 15, fan_out 20 -> a = sqrt(6/35)
    auto k = nn::init::xavier_uniform_(zeros<float>({4, 3, 5}), 1.0f, gen);
    CHECK(xt::amax(xt::abs(k.value()))() <= std::sqrt(6.0f / 35.0f));
    CHECK_THROWS_WITH_AS(nn::init::xavier_uniform_(zeros<double>({5})),
                         doctest::Contains("xavier_uniform_: needs a tensor with at least 2 dimensions, got shape [5]"),
                         Error);
  }

  TEST_CASE("orthogonal_ gives orthonormal rows (wide) or columns (tall), times gain") {
    Generator gen(7);
    auto tall = nn::init::orthogonal_(zeros<double>({7, 4}), 1.0, gen);
    CHECK(orthonormality_error(tall, /*rows=*/false) < 1e-12);
    auto wide = nn::init::orthogonal_(zeros<double>({3, 8}), 1.0, gen);
    CHECK(orthonormality_error(wide, /*rows=*/true) < 1e-12);
    auto square = nn::init::orthogonal_(zeros<double>({5, 5}), 1.0, gen);
    CHECK(orthonormality_error(square, true) < 1e-12);
    CHECK(orthonormality_error(square, false) < 1e-12);
    auto scaled = nn::init::orthogonal_(zeros<double>({4, 4}), 3.0, gen);
    CHECK(orthonormality_error(TensorD(xt::xarray<double>(scaled.value() / 3.0)), true) < 1e-12);
    auto as_float = nn::init::orthogonal_(zeros<float>({6, 2, 2}), 1.0f, gen);  // viewed as [6, 4]
    CHECK(orthonormality_error(TensorD(xt::xarray<double>(xt::cast<double>(as_float.value()))), false) < 1e-5);
    CHECK_THROWS_WITH_AS(nn::init::orthogonal_(zeros<double>({5})), doctest::Contains("orthogonal_"), Error);
  }
}
