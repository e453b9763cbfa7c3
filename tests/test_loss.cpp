// Losses: values worked out by hand from the definitions (each case says how),
// PyTorch's reductions and ignore_index, numerical stability, gradcheck.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using Inputs = std::vector<TensorD>;
using nn::Reduction;

namespace {
const double ln2 = std::log(2.0), ln3 = std::log(3.0), ln4 = std::log(4.0);
}

TEST_SUITE("nn_loss") {
  TEST_CASE("mse_loss: mean, sum and none") {
    // differences [1, 0, -2, 3] -> squares [1, 0, 4, 9]: sum 14, mean 3.5.
    const TensorD input{{1, 2}, {3, 4}}, target{{0, 2}, {5, 1}};
    CHECK(nn::mse_loss(input, target).item() == doctest::Approx(3.5));
    CHECK(nn::mse_loss(input, target, Reduction::Sum).item() == doctest::Approx(14.0));
    CHECK(nn::mse_loss(input, target, Reduction::None).value() == xt::xarray<double>{{1, 0}, {4, 9}});
  }

  TEST_CASE("cross_entropy: values by hand, reductions, ignore_index, large logits") {
    // Row 0: logits ln[1, 2, 3] -> softmax [1/6, 2/6, 3/6]; target 2: -ln(1/2) = ln 2.
    // Row 1: equal logits -> 1/3 each; target 0: ln 3.
    // Row 2: 1000 + ln[1, 1, 2] -> softmax [1/4, 1/4, 1/2]; target 0: ln 4 (e^1000 overflows a naive softmax).
    const TensorD logits{{0, ln2, ln3}, {0, 0, 0}, {1000, 1000, 1000 + ln2}};
    const std::vector<std::int64_t> targets{2, 0, 0};
    const auto none = nn::cross_entropy(logits, targets, Reduction::None);
    REQUIRE(none.shape() == Shape{3});
    CHECK(none.value()(0) == doctest::Approx(ln2));
    CHECK(none.value()(1) == doctest::Approx(ln3));
    CHECK(none.value()(2) == doctest::Approx(ln4));
    CHECK(nn::cross_entropy(logits, targets, Reduction::Sum).item() == doctest::Approx(ln2 + ln3 + ln4));
    CHECK(nn::cross_entropy(logits, targets).item() == doctest::Approx((ln2 + ln3 + ln4) / 3));

    // An ignored target gives 0 and is not counted by the mean: (ln 2 + ln 4) / 2.
    const std::vector<std::int64_t> with_ignored{2, -100, 0};
    CHECK(nn::cross_entropy(logits, with_ignored).item() == doctest::Approx((ln2 + ln4) / 2));
    CHECK(nn::cross_entropy(logits, with_ignored, Reduction::None).value()(1) == 0.0);
    CHECK(nn::cross_entropy(logits, {2, 1, 0}, Reduction::Mean, /*ignore_index=*/1).item() ==
          doctest::Approx((ln2 + ln4) / 2));
    // All ignored: PyTorch's mean is 0/0 = NaN.
    CHECK(std::isnan(nn::cross_entropy(logits, {-100, -100, -100}).item()));

    // float: e^100 overflows float, the log_softmax form does not. Row 100 + ln[1, 1, 2], target 2: ln 2.
    const TensorF big{{100.0f, 100.0f, 100.0f + float(ln2)}};
    CHECK(nn::cross_entropy(big, {2}).item() == doctest::Approx(ln2).epsilon(1e-5));
  }

  TEST_CASE("cross_entropy: unbatched [C] logits with one target") {
    // ln[1, 2, 3], target 1: -ln(2/6) = ln 3; Reduction::None gives a 0-D result, as PyTorch.
    const TensorD logits{0, ln2, ln3};
    CHECK(nn::cross_entropy(logits, {1}).item() == doctest::Approx(ln3));
    const auto none = nn::cross_entropy(logits, {1}, Reduction::None);
    CHECK(none.dim() == 0);
    CHECK(none.item() == doctest::Approx(ln3));
  }

  TEST_CASE("binary_cross_entropy_with_logits: values by hand and stability") {
    // l = -[y ln σ(x) + (1-y) ln(1-σ(x))], σ(ln 3) = 3/4, σ(-ln 3) = 1/4:
    //   x=0,     y=1:   -ln(1/2)                       = ln 2
    //   x=ln 3,  y=0:   -ln(1/4)                       = ln 4
    //   x=-ln 3, y=1:   -ln(1/4)                       = ln 4
    //   x=ln 3,  y=1/2: -(ln(3/4) + ln(1/4))/2         = ln 4 - ln(3)/2
    //   x=800,   y=0:   softplus(800) = 800 (+ e^-800); x=-800, y=1: 800 too
    const TensorD x{0, ln3, -ln3, ln3, 800, -800}, y{1, 0, 1, 0.5, 0, 1};
    const auto none = nn::binary_cross_entropy_with_logits(x, y, Reduction::None);
    const std::vector<double> expected{ln2, ln4, ln4, ln4 - ln3 / 2, 800, 800};
    for (std::size_t i = 0; i < expected.size(); ++i) CHECK(none.value()(i) == doctest::Approx(expected[i]));
    double total = 0;
    for (double e : expected) total += e;
    CHECK(nn::binary_cross_entropy_with_logits(x, y, Reduction::Sum).item() == doctest::Approx(total));
    CHECK(nn::binary_cross_entropy_with_logits(x, y).item() == doctest::Approx(total / 6));
  }

  TEST_CASE("binary_cross_entropy_with_logits: dl/dx = σ(x) - y, also at x = 0") {
    // At x = 0: σ(0) - y = 0.5 - 0.25 = 0.25 (a stable form built from relu and |x| would give -0.25).
    auto x = TensorD({0.0, 2.0}, true);
    const TensorD y{0.25, 1.0};
    nn::binary_cross_entropy_with_logits(x, y, Reduction::Sum).backward();
    CHECK(x.grad().value()(0) == doctest::Approx(0.25));
    CHECK(x.grad().value()(1) == doctest::Approx(1.0 / (1.0 + std::exp(-2.0)) - 1.0));
  }

  TEST_CASE("gradcheck: every loss, every reduction, both arguments where differentiable") {
    Generator gen(17);
    auto input = randn<double>({3, 4}, gen, true), target = randn<double>({3, 4}, gen, true);
    auto logits = randn<double>({5, 3}, gen, true);
    auto probabilities = rand<double>({3, 4}, gen, true);
    const std::vector<std::int64_t> classes{0, 2, -100, 1, 2};
    for (auto reduction : {Reduction::Mean, Reduction::Sum, Reduction::None}) {
      CAPTURE(static_cast<int>(reduction));
      CHECK_GRAD([&](const std::vector<TensorD>& in) { return nn::mse_loss(in[0], in[1], reduction); }, Inputs{input, target});
      CHECK_GRAD([&](const std::vector<TensorD>& in) { return nn::cross_entropy(in[0], classes, reduction); }, Inputs{logits});
      CHECK_GRAD([&](const std::vector<TensorD>& in) { return nn::binary_cross_entropy_with_logits(in[0], in[1], reduction); },
                 Inputs{input, probabilities});
    }
    CHECK_GRADGRAD([&](const std::vector<TensorD>& in) { return nn::cross_entropy(in[0], classes); }, Inputs{logits});
    CHECK_GRADGRAD([&](const std::vector<TensorD>& in) { return nn::binary_cross_entropy_with_logits(in[0], in[1]); },
                   Inputs{input, probabilities});
  }

  TEST_CASE("per-sequence loss L = 1/T sum_t l(o_t, y_t) is the Mean over [T, B, ...]") {
    Generator gen(23);
    const std::size_t T = 3, B = 2, O = 4, C = 5;
    const auto outputs = randn<double>({T, B, O}, gen), targets = randn<double>({T, B, O}, gen);
    double per_step = 0;
    for (std::size_t t = 0; t < T; ++t)
      per_step += nn::mse_loss(select(outputs, 0, t), select(targets, 0, t)).item() / double(T);
    CHECK(nn::mse_loss(outputs, targets).item() == doctest::Approx(per_step));

    const auto logits = randn<double>({T, B, C}, gen);
    const std::vector<std::int64_t> labels{0, 4, 2, 2, 1, 3};  // t-major: step t holds labels[t*B .. t*B+B)
    double per_step_ce = 0;
    for (std::size_t t = 0; t < T; ++t)
      per_step_ce += nn::cross_entropy(select(logits, 0, t), {labels[t * B], labels[t * B + 1]}).item() / double(T);
    CHECK(nn::cross_entropy(reshape(logits, {T * B, C}), labels).item() == doctest::Approx(per_step_ce));
  }

  TEST_CASE("errors name the loss and both shapes") {
    CHECK_THROWS_WITH_AS(nn::mse_loss(zeros<double>({2, 3}), zeros<double>({3, 2})),
                         doctest::Contains("mse_loss: input has shape [2, 3] but target has shape [3, 2]"), Error);
    CHECK_THROWS_WITH_AS(nn::binary_cross_entropy_with_logits(zeros<float>({2}), zeros<float>({2, 1})),
                         doctest::Contains("binary_cross_entropy_with_logits: logits has shape [2] but targets has shape [2, 1]"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(zeros<double>({2, 3}), {0}),
                         doctest::Contains("cross_entropy: logits [2, 3] need 2 targets, got 1"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(zeros<double>({2, 3}), {0, 3}),
                         doctest::Contains("cross_entropy: target 3 at position 1 is out of range for 3 classes"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(zeros<double>({2, 3}), {-1, 0}),
                         doctest::Contains("cross_entropy: target -1 at position 0 is out of range"), Error);
    CHECK_THROWS_WITH_AS(nn::cross_entropy(zeros<double>({2, 2, 3}), {0, 0}),
                         doctest::Contains("cross_entropy: logits must be [N, C] or [C], got [2, 2, 3] (reshape [T, B, C]"),
                         Error);
  }
}
