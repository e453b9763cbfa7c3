// nn::Dropout and nn::dropout: inverted dropout in training, identity in eval.
#include <doctest/doctest.h>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using Inputs = std::vector<TensorD>;

TEST_SUITE("nn_dropout") {
  TEST_CASE("training: each element is 0 or x / (1 - p), kept with probability 1 - p") {
    Generator gen(11);
    const auto x = full<double>({100, 100}, 3.0);
    const auto y = nn::dropout(x, 0.25, /*training=*/true, gen);
    std::size_t kept = 0, dropped = 0;
    for (double v : y.value()) {
      kept += v == 3.0 / 0.75;  // exact: 3 / 0.75 = 4 in binary floating point
      dropped += v == 0.0;
    }
    CHECK(kept + dropped == 10000);
    // 10,000 Bernoulli(0.75) draws: standard deviation ≈ 43, so ±200 is very safe.
    CHECK(kept > 7300);
    CHECK(kept < 7700);
    // Inverted dropout keeps the expectation: the mean stays near 3.
    CHECK(xt::mean(y.value())() == doctest::Approx(3.0).epsilon(0.03));
  }

  TEST_CASE("eval, p = 0 and training=false return the input unchanged") {
    Generator gen(1);
    nn::Dropout<double> layer(0.5, gen);
    const auto x = randn<double>({3, 4}, gen);
    layer.eval();
    CHECK(layer(x).id() == x.id());
    CHECK(nn::dropout(x, 0.0, true, gen).id() == x.id());
    CHECK(nn::dropout(x, 0.9, false, gen).id() == x.id());
    layer.train();
    CHECK(layer(x).id() != x.id());
    CHECK(layer.to_string() == "Dropout(p=0.5)");
  }

  TEST_CASE("the same seed gives the same mask; gradcheck with that fixed mask") {
    Generator a(42), b(42);
    const auto x = ones<double>({6, 5});
    CHECK(nn::dropout(x, 0.4, true, a).value() == nn::dropout(x, 0.4, true, b).value());

    // A fresh generator per call: every evaluation of f uses the same mask.
    Generator init(4);
    auto xs = randn<double>({4, 3}, init, true);
    const auto f = [](const std::vector<TensorD>& in) {
      Generator gen(9);
      return nn::dropout(in[0], 0.5, true, gen);
    };
    CHECK_GRAD(f, Inputs{xs});
    CHECK_GRADGRAD(f, Inputs{xs});
    // By hand: dy/dx is the mask itself, 0 or 1/(1-p) = 2.
    const auto y = f({xs});
    sum(y).backward();
    CHECK(xs.grad().value() == xt::where(xt::equal(y.value(), 0.0), 0.0, 2.0));
  }

  TEST_CASE("p outside [0, 1] is an error; p = 1 zeroes everything (PyTorch's rule)") {
    CHECK_THROWS_WITH_AS(nn::Dropout<float>(1.5), doctest::Contains("Dropout: dropout should be a number in range [0, 1]"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::Dropout<float>(-0.1), doctest::Contains("got -0.1"), Error);
    CHECK_THROWS_WITH_AS(nn::dropout(ones<float>({2}), 1.5, false), doctest::Contains("dropout: dropout should be a number"),
                         Error);
    // torch.nn.functional.dropout(torch.ones(3), p=1.0) is tensor([0., 0., 0.]).
    CHECK(nn::dropout(ones<float>({3}), 1.0, true).value() == xt::zeros<float>({3}));
  }
}
