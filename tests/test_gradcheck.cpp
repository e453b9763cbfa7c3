// The public gradient checker, exercised on an op defined here, outside the
// library, with rwd::record (as a user would write one): it must pass when the
// backward is right and fail, pointing at the right input and element, when
// the backward is wrong.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

enum class Bug {
  none,
  one_element,  // d/dx off by 0.5 at flat element `buggy_element` (a slip in a hand-written formula)
  detached,     // right values, but computed off the graph: second derivatives are lost
};
constexpr std::size_t buggy_element = 4;

// Scaled softsign, s a 0-D tensor:
//   y = s · x / (1 + |x|)
//   dy/dx = s / (1 + |x|)²          dy/ds = Σ g ⊙ x / (1 + |x|)
// The backward is written with Tensor ops, so it is differentiable again.
template <class T>
Tensor<T> scaled_softsign(const Tensor<T>& x, const Tensor<T>& s, Bug bug = Bug::none) {
  const auto& v = x.value();
  xt::xarray<T> value = s.item() * v / (T(1) + xt::abs(v));
  return record<T>("scaled_softsign", std::move(value), {x, s},
                   [bug](const std::vector<Tensor<T>>& in, const Tensor<T>&, const Tensor<T>& g) {
                     const Tensor<T> denominator = T(1) + abs(in[0]);
                     Tensor<T> dx = g * in[1] / (denominator * denominator);
                     if (bug == Bug::one_element) {
                       Tensor<T> slip = zeros<T>(in[0].shape());
                       slip.mutable_data()[buggy_element] = T(0.5);
                       dx = dx + g * slip;
                     }
                     if (bug == Bug::detached) dx = dx.detach();
                     return Grads<T>{dx, sum(g * in[0] / denominator)};
                   });
}

Function<double> softsign_with(Bug bug) {
  return [bug](const std::vector<TensorD>& in) { return scaled_softsign(in[0], in[1], bug); };
}

struct Inputs {
  TensorD x, s;
};

// x in [-2, 2], pushed away from the kink of |x| at 0; s = 1.5.
Inputs draw_inputs() {
  Generator gen(42);
  TensorD x = uniform<double>({2, 3}, -2.0, 2.0, gen);
  for (auto& v : x.mutable_value())
    if (std::abs(v) < 0.2) v += v < 0 ? -0.2 : 0.2;
  return {x.requires_grad_(), TensorD::scalar(1.5, true)};
}

}  // namespace

TEST_SUITE("gradcheck") {
  TEST_CASE("a correct custom op passes, in full and fast mode, first and second order") {
    auto [x, s] = draw_inputs();
    CHECK_GRAD(softsign_with(Bug::none), {x, s});
    CHECK_GRADGRAD(softsign_with(Bug::none), {x, s});
    GradcheckOptions fast;
    fast.fast_mode = true;
    CHECK_GRAD(softsign_with(Bug::none), {x, s}, fast);
    CHECK_GRADGRAD(softsign_with(Bug::none), {x, s}, fast);

    const auto report = gradcheck(softsign_with(Bug::none), {x, s});
    REQUIRE(report.inputs.size() == 2);
    CHECK(report.inputs[0].max_abs_error < 1e-8);  // central differences of a smooth function: ~eps²
    CHECK(report.inputs[0].tolerance_used < 1e-2);
  }

  TEST_CASE("a wrong backward fails, naming the input and the worst element") {
    auto [x, s] = draw_inputs();
    const auto report = gradcheck(softsign_with(Bug::one_element), {x, s});
    CHECK_FALSE(report.passed());
    REQUIRE(report.inputs.size() == 2);
    const InputCheck& bad = report.inputs[0];
    CHECK(bad.input == 0);
    CHECK_FALSE(bad.passed);
    CHECK(bad.shape == Shape{2, 3});
    // The Jacobian of an elementwise op is diagonal: the slip sits at (4, 4).
    CHECK(bad.worst_output == buggy_element);
    CHECK(bad.worst_element == buggy_element);
    // The true derivative there, by hand: s / (1 + |x|)²; the buggy one is 0.5 more.
    const double xv = x.data()[buggy_element];
    const double truth = 1.5 / ((1 + std::abs(xv)) * (1 + std::abs(xv)));
    CHECK(bad.numeric == doctest::Approx(truth).epsilon(1e-6));
    CHECK(bad.analytic == doctest::Approx(truth + 0.5).epsilon(1e-9));
    CHECK(bad.max_abs_error == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(bad.tolerance_used > 1.0);
    // The gradient for s is right and its row says so.
    CHECK(report.inputs[1].input == 1);
    CHECK(report.inputs[1].passed);
    CHECK(report.inputs[1].shape == Shape{});

    // The table: a header naming mode and tolerances, one row per input,
    // the worst element as (output, index in the input's shape).
    const std::string text = report.to_string();
    INFO(text);
    CHECK(text.find("gradcheck function: FAILED (float64, full Jacobian, eps 1e-06, atol 1e-05, rtol 0.001)") == 0);
    CHECK(text.find("max abs err") != std::string::npos);
    CHECK(text.find("worst: out, in") != std::string::npos);
    CHECK(text.find("[2, 3]") != std::string::npos);
    CHECK(text.find("4, [1, 1]") != std::string::npos);  // flat 4 of [2, 3] is [1, 1]
    CHECK(text.find("FAIL\n") != std::string::npos);
    CHECK(text.find("pass\n") != std::string::npos);
    std::ostringstream streamed;
    streamed << report;
    CHECK(streamed.str() == text);
  }

  TEST_CASE("fast mode (one random projection) catches the same bug") {
    auto [x, s] = draw_inputs();
    GradcheckOptions fast;
    fast.fast_mode = true;
    fast.name = "softsign";
    const auto report = gradcheck(softsign_with(Bug::one_element), {x, s}, fast);
    CHECK_FALSE(report.passed());
    CHECK_FALSE(report.inputs[0].passed);
    CHECK(report.inputs[1].passed);
    CHECK(report.mode.find("fast") == 0);
    CHECK(report.to_string().find("gradcheck softsign: FAILED (float64, fast") == 0);
    CHECK(report.to_string().find("(projection)") != std::string::npos);
    // Whatever the projection, the bug shows: a few seeds all fail.
    for (std::uint64_t seed : {1, 2, 3}) {
      fast.seed = seed;
      CHECK_FALSE(gradcheck(softsign_with(Bug::one_element), {x, s}, fast).passed());
    }
  }

  TEST_CASE("gradgradcheck catches a backward that is right but not differentiable") {
    auto [x, s] = draw_inputs();
    // First derivatives are right ...
    CHECK_GRAD(softsign_with(Bug::detached), {x, s});
    // ... but d/dx of the backward was cut off the graph.
    const auto report = gradgradcheck(softsign_with(Bug::detached), {x, s});
    CHECK_FALSE(report.passed());
    CHECK(report.name == "function");
    CHECK(report.second_order);
    CHECK(report.to_string().find("gradgradcheck function: FAILED (float64, full Jacobian") == 0);
    CHECK_FALSE(report.inputs[0].passed);
    GradcheckOptions fast;
    fast.fast_mode = true;
    CHECK_FALSE(gradgradcheck(softsign_with(Bug::detached), {x, s}, fast).passed());
    // gradgradcheck checks the backward's own derivative, not the backward:
    // the slip is a constant offset, its derivative is still right.
    CHECK(gradgradcheck(softsign_with(Bug::one_element), {x, s}).passed());
  }

  TEST_CASE("tolerances: options override the defaults") {
    auto [x, s] = draw_inputs();
    // Zero tolerance: even a correct op fails on finite-difference rounding.
    GradcheckOptions exact;
    exact.atol = 0.0;
    exact.rtol = 0.0;
    CHECK_FALSE(gradcheck(softsign_with(Bug::none), {x, s}, exact).passed());
    // A tolerance larger than the slip lets the wrong op through.
    GradcheckOptions loose;
    loose.atol = 1.0;
    CHECK(gradcheck(softsign_with(Bug::one_element), {x, s}, loose).passed());
    CHECK(gradcheck(softsign_with(Bug::none), {x, s}).atol == GradcheckTolerance<double>::atol);

  }

  TEST_CASE("float32: an error unless the caller opts in, and the report says which precision") {
    auto [x, s] = draw_inputs();
    TensorF xf(xt::xarray<float>(xt::cast<float>(x.value())), true);
    auto sf = TensorF::scalar(1.5f, true);
    auto float_op = [](const std::vector<TensorF>& in) { return scaled_softsign(in[0], in[1]); };
    CHECK_THROWS_WITH_AS(gradcheck(float_op, {xf, sf}),
                         "gradcheck function: the inputs are float32, whose central differences resolve about two "
                         "digits (float's tolerances, 1e-2, pass a backward 0.5 % off); check in float64, or set "
                         "GradcheckOptions::allow_float to accept that",
                         Error);
    CHECK_THROWS_WITH_AS(gradgradcheck(float_op, {xf, sf}), doctest::Contains("allow_float"), Error);

    GradcheckOptions in_float;
    in_float.allow_float = true;
    const auto report = gradcheck(float_op, {xf, sf}, in_float);
    CHECK(report.passed());
    CHECK(report.precision == "float32");
    CHECK(report.eps == GradcheckTolerance<float>::eps);
    CHECK(report.to_string().find("gradcheck function: PASSED (float32, full Jacobian, eps 0.01, atol 0.01, "
                                  "rtol 0.01)") == 0);
    CHECK(gradgradcheck(float_op, {xf, sf}, in_float).passed());
    // Why float needs the opt-in: float's tolerances let the 0.5 slip pass at
    // some inputs; with double's eps the correct op fails on rounding.
    in_float.eps = 1e-6;
    CHECK_FALSE(gradcheck(float_op, {xf, sf}, in_float).passed());
    CHECK(gradcheck(softsign_with(Bug::none), {x, s}).precision == "float64");
  }

  // y = 2x with a backward returning 2.01: a 0.5 % bug. Float's tolerances
  // (1e-2 + 1e-2·2 = 0.03 > 0.01) pass it; double's (1e-5 + 1e-3·2) catch it.
  template <class T>
  Tensor<T> doubled_slightly_wrong(const Tensor<T>& x) {
    xt::xarray<T> value = T(2) * x.value();
    return record<T>("doubled", std::move(value), {x},
                     [](const std::vector<Tensor<T>>&, const Tensor<T>&, const Tensor<T>& g) {
                       return Grads<T>{g * T(2.01)};
                     });
  }

  TEST_CASE("a 0.5 % bug: double catches it, float (opted in) does not, which is why float is opt-in") {
    TensorD x(xt::xarray<double>{0.3, -1.2, 2.0}, true);
    TensorF xf(xt::xarray<float>{0.3f, -1.2f, 2.0f}, true);
    CHECK_FALSE(gradcheck<double>([](const std::vector<TensorD>& in) { return doubled_slightly_wrong(in[0]); }, {x})
                    .passed());
    GradcheckOptions in_float;
    in_float.allow_float = true;
    CHECK(gradcheck<float>([](const std::vector<TensorF>& in) { return doubled_slightly_wrong(in[0]); }, {xf},
                           in_float)
              .passed());
  }

  TEST_CASE("inputs by name: in the rows, the warnings and the errors") {
    auto [x, s] = draw_inputs();
    GradcheckOptions named;
    named.name = "softsign";
    named.input_names = {"x", "scale"};
    const auto report = gradcheck(softsign_with(Bug::one_element), {x, s}, named);
    REQUIRE(report.inputs.size() == 2);
    CHECK(report.inputs[0].name == "x");
    CHECK(report.inputs[1].name == "scale");
    const std::string text = report.to_string();
    INFO(text);
    CHECK(text.find("\n  input  shape") != std::string::npos);
    CHECK(text.find("\n  x      [2, 3]") != std::string::npos);
    CHECK(text.find("\n  scale  []") != std::string::npos);
    // A long name widens the column.
    named.input_names = {"the input sequence", "scale"};
    CHECK(gradcheck(softsign_with(Bug::none), {x, s}, named).to_string().find("\n  the input sequence  [2, 3]") !=
          std::string::npos);
    // Unnamed inputs go by position.
    CHECK(gradcheck(softsign_with(Bug::none), {x, s}).inputs[1].name == "1");
    named.input_names = {"x"};
    CHECK_THROWS_WITH_AS(gradcheck(softsign_with(Bug::none), {x, s}, named),
                         "gradcheck softsign: 1 input names for 2 inputs", Error);
    CHECK_THROWS_WITH_AS(gradgradcheck(softsign_with(Bug::none), {x, s}, named),
                         "gradcheck softsign: 1 input names for 2 inputs", Error);
  }

  TEST_CASE("warnings: an input whose every entry is 0 on both sides, and inputs skipped") {
    auto [x, s] = draw_inputs();
    // f ignores in[1] and uses a captured tensor: its row passes, and says it proves nothing.
    const TensorD captured = s.detach();
    auto ignores_s = [captured](const std::vector<TensorD>& in) { return scaled_softsign(in[0], captured); };
    GradcheckOptions named;
    named.input_names = {"x", "s"};
    const auto report = gradcheck<double>(ignores_s, {x, s}, named);
    CHECK(report.passed());
    REQUIRE(report.inputs.size() == 2);
    CHECK_FALSE(report.inputs[0].all_zero);
    CHECK(report.inputs[1].all_zero);
    REQUIRE(report.warnings().size() == 1);
    CHECK(report.warnings()[0] ==
          "warning: input s: every analytic and numeric entry is exactly 0, so this check proves nothing (does f "
          "use in[1], not a captured tensor?)");
    CHECK(report.to_string().find("\n  " + report.warnings()[0] + "\n") != std::string::npos);
    GradcheckOptions fast = named;
    fast.fast_mode = true;
    CHECK(gradcheck<double>(ignores_s, {x, s}, fast).inputs[1].all_zero);

    // Inputs that do not require grad are listed, not dropped.
    const auto partial = gradcheck(softsign_with(Bug::none), {x, s.detach()}, named);
    CHECK(partial.skipped == std::vector<std::string>{"s"});
    REQUIRE(partial.warnings().size() == 1);
    CHECK(partial.warnings()[0] == "warning: not checked, since they do not require grad: s");
    CHECK(partial.to_string().find(partial.warnings()[0]) != std::string::npos);
    const auto clean = gradcheck(softsign_with(Bug::none), {x, s});
    CHECK(clean.warnings().empty());
    CHECK(clean.skipped.empty());
    CHECK(clean.to_string().find("warning") == std::string::npos);
  }

  TEST_CASE("gradcheck leaves the caller's tensors alone and checks only inputs that require grad") {
    auto [x, s] = draw_inputs();
    const xt::xarray<double> before = x.value();
    auto constant_s = TensorD::scalar(1.5);
    const auto report = gradcheck(softsign_with(Bug::none), {x, constant_s});
    CHECK(report.passed());
    REQUIRE(report.inputs.size() == 1);  // s does not require grad: not checked, listed
    CHECK(report.inputs[0].input == 0);
    CHECK(report.skipped == std::vector<std::string>{"1"});
    CHECK(x.value() == before);
    CHECK_FALSE(x.grad().defined());
    // An output that does not depend on an input: zero gradient on both sides.
    CHECK(gradcheck<double>([](const std::vector<TensorD>& in) { return in[0] * 2.0; }, {x, s}).passed());
    CHECK_THROWS_WITH_AS(gradcheck<double>([](const std::vector<TensorD>& in) { return in[0]; }, {constant_s}),
                         doctest::Contains("no input requires grad"), Error);
  }
}
