// Every op of autograd/ops.hpp, gradient-checked in double against central
// finite differences (full Jacobian), and second derivatives through
// gradgradcheck. Cases are tables: a name, how each input is drawn, and the
// function. Inputs come from fixed Generator seeds and keep clear of kinks
// (relu/abs at 0, clamp bounds) and singularities (log/sqrt/div near 0).
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

using In = std::vector<TensorD>;
using Fn = std::function<TensorD(const In&)>;

// How one input is drawn: uniform in [low, high), then pushed at least
// `margin` away from each point in `avoid`.
struct Input {
  Shape shape;
  double low = -1.0, high = 1.0;
  std::vector<double> avoid = {};
  bool requires_grad = true;
};

Input any(Shape shape) { return {std::move(shape)}; }
Input positive(Shape shape) { return {std::move(shape), 0.5, 2.0}; }
Input away_from(Shape shape, std::vector<double> kinks) { return {std::move(shape), -1.0, 1.0, std::move(kinks)}; }
Input constant(Shape shape) { return {std::move(shape), -1.0, 1.0, {}, false}; }

struct OpCase {
  std::string name;
  std::vector<Input> inputs;
  Fn f;
  bool second_order = true;  // also gradgradcheck (cheap; zero second derivatives must check out too)
};

constexpr double margin = 0.1;

// "max axis -1 keepdim" (ostringstream: GCC 12 warns falsely on "literal" + std::string).
template <class... Parts>
std::string label(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

TensorD draw(const Input& spec, Generator& gen) {
  TensorD t = uniform<double>(spec.shape, spec.low, spec.high, gen);
  for (auto& v : t.mutable_value())
    for (double kink : spec.avoid)
      if (std::abs(v - kink) < margin) v = kink + (v < kink ? -margin : margin);
  return t.requires_grad_(spec.requires_grad);
}

void run(const std::vector<OpCase>& cases, std::uint64_t seed) {
  for (const auto& c : cases) {
    INFO("case: ", c.name);
    Generator gen(seed++);
    In inputs;
    for (const auto& spec : c.inputs) inputs.push_back(draw(spec, gen));
    GradcheckOptions options;
    options.name = c.name;
    CHECK_GRAD(c.f, inputs, options);
    if (c.second_order) CHECK_GRADGRAD(c.f, inputs, options);
  }
}

// The four transpose-flag combinations of op(a) op(b) with op(a): [m, k], op(b): [k, n],
// optionally with a leading batch axis on a and/or b.
std::vector<OpCase> matmul_cases(const char* kind, std::size_t batch_a, std::size_t batch_b) {
  const std::size_t m = 2, k = 3, n = 4;
  std::vector<OpCase> cases;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Shape a = ta ? Shape{k, m} : Shape{m, k};
      Shape b = tb ? Shape{n, k} : Shape{k, n};
      if (batch_a) a.insert(a.begin(), batch_a);
      if (batch_b) b.insert(b.begin(), batch_b);
      cases.push_back({label("matmul ", kind, ta ? " aT" : " a", tb ? " bT" : " b"), {any(a), any(b)},
                       [ta, tb](const In& x) { return matmul(x[0], x[1], ta, tb); }});
    }
  return cases;
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("arithmetic, with NumPy broadcasting") {
    run({
            {"add [3,1]+[1,4]", {any({3, 1}), any({1, 4})}, [](const In& x) { return x[0] + x[1]; }},
            {"add [4]+[2,3,4]", {any({4}), any({2, 3, 4})}, [](const In& x) { return x[0] + x[1]; }},
            {"add 0-D+[2,3]", {any({}), any({2, 3})}, [](const In& x) { return x[0] + x[1]; }},
            {"sub [2,3]-[2,3]", {any({2, 3}), any({2, 3})}, [](const In& x) { return x[0] - x[1]; }},
            {"sub [3,1]-[1,4]", {any({3, 1}), any({1, 4})}, [](const In& x) { return x[0] - x[1]; }},
            {"sub [2,3,4]-[4]", {any({2, 3, 4}), any({4})}, [](const In& x) { return x[0] - x[1]; }},
            {"mul [3,1]*[1,4]", {any({3, 1}), any({1, 4})}, [](const In& x) { return x[0] * x[1]; }},
            {"mul [4]*[2,3,4]", {any({4}), any({2, 3, 4})}, [](const In& x) { return x[0] * x[1]; }},
            {"mul [2,3]*0-D", {any({2, 3}), any({})}, [](const In& x) { return x[0] * x[1]; }},
            {"mul x*x (one input twice)", {any({2, 3})}, [](const In& x) { return x[0] * x[0]; }},
            {"div [3,1]/[1,4]", {any({3, 1}), positive({1, 4})}, [](const In& x) { return x[0] / x[1]; }},
            {"div [4]/[2,3,4]", {any({4}), positive({2, 3, 4})}, [](const In& x) { return x[0] / x[1]; }},
            {"div 0-D/[2,3]", {any({}), positive({2, 3})}, [](const In& x) { return x[0] / x[1]; }},
            {"neg", {any({2, 3})}, [](const In& x) { return -x[0]; }},
            {"add_scalar, scalar - x", {any({2, 3})}, [](const In& x) { return (x[0] + 2.0) * (3.0 - x[0]); }},
            {"mul_scalar, x / scalar", {any({2, 3})}, [](const In& x) { return (2.5 * x[0]) * (x[0] / 4.0); }},
        },
        100);
  }

  TEST_CASE("elementwise functions") {
    run({
            {"exp", {any({2, 3})}, [](const In& x) { return exp(x[0]); }},
            {"log", {positive({2, 3})}, [](const In& x) { return log(x[0]); }},
            {"tanh", {any({2, 3})}, [](const In& x) { return tanh(x[0] * 2.0); }},
            {"sigmoid", {any({2, 3})}, [](const In& x) { return sigmoid(x[0] * 3.0); }},
            {"relu", {away_from({2, 3}, {0.0})}, [](const In& x) { return relu(x[0]); }},
            {"softplus", {any({2, 3})}, [](const In& x) { return softplus(x[0] * 4.0); }},
            {"softplus, large |x|", {{{2, 3}, -30.0, 30.0}}, [](const In& x) { return softplus(x[0]); }},
            {"pow 3, any sign", {away_from({2, 3}, {0.0})}, [](const In& x) { return pow(x[0], 3.0); }},
            {"pow 0.5", {positive({2, 3})}, [](const In& x) { return pow(x[0], 0.5); }},
            {"pow -1.5", {positive({2, 3})}, [](const In& x) { return pow(x[0], -1.5); }},
            {"sqrt", {positive({2, 3})}, [](const In& x) { return sqrt(x[0]); }},
            {"abs", {away_from({2, 3}, {0.0})}, [](const In& x) { return abs(x[0]) * x[0]; }},
            {"clamp", {away_from({3, 4}, {-0.5, 0.5})}, [](const In& x) { return clamp(x[0], -0.5, 0.5) * x[0]; }},
            {"where [2,3] ? [2,3] : [3]", {constant({2, 3}), any({2, 3}), any({3})},
             [](const In& x) { return where(relu(x[0]), x[1] * x[1], x[2]); }},
            {"where [3,1] ? [1,4] : 0-D", {constant({3, 1}), any({1, 4}), any({})},
             [](const In& x) { return where(relu(x[0]), x[1], x[2] * x[2]); }},
            {"where [4] ? [3,1] : [2,1,1]", {constant({4}), any({3, 1}), any({2, 1, 1})},
             [](const In& x) { return where(relu(x[0]), exp(x[1]), x[2]); }},
        },
        200);
  }

  TEST_CASE("reductions, every axis form") {
    std::vector<OpCase> cases = {
        {"sum all", {any({2, 3, 4})}, [](const In& x) { return sum(x[0] * x[0]); }},
        {"sum all of 0-D", {any({})}, [](const In& x) { return sum(x[0] * x[0]); }},
        {"mean all", {any({2, 3, 4})}, [](const In& x) { return mean(x[0] * x[0]); }},
        {"max all", {any({2, 3, 4})}, [](const In& x) { return max(x[0]) * x[0]; }},
        {"max axis 1 + x sum", {any({3, 4})}, [](const In& x) { return max(x[0], 1) * sum(x[0], {1}); }},
    };
    for (bool keepdim : {false, true}) {
      const std::string kd = keepdim ? " keepdim" : "";
      for (const std::vector<int>& axes : std::vector<std::vector<int>>{{0}, {1}, {-1}, {0, 2}, {-1, -3}, {2, -2}}) {
        std::string ax;
        for (int a : axes) ax += label(" ", a);
        cases.push_back({label("sum", ax, kd), {any({2, 3, 4})},
                         [axes, keepdim](const In& x) { return sum(x[0] * x[0], axes, keepdim); }});
        cases.push_back({label("mean", ax, kd), {any({2, 3, 4})},
                         [axes, keepdim](const In& x) { return mean(x[0] * x[0], axes, keepdim); }});
      }
      for (int axis : {0, 1, 2, -1, -3})
        cases.push_back({label("max axis ", axis, kd), {any({2, 3, 4})},
                         [axis, keepdim](const In& x) { return max(x[0] * x[0], axis, keepdim); }});
    }
    for (int axis : {0, 1, -1})
      for (const Shape& shape : {Shape{3, 4}, Shape{2, 3, 2}}) {
        cases.push_back({label("softmax ", format_shape(shape), " axis ", axis), {any(shape)},
                         [axis](const In& x) { return softmax(x[0] * 2.0, axis); }});
        cases.push_back({label("log_softmax ", format_shape(shape), " axis ", axis), {any(shape)},
                         [axis](const In& x) { return log_softmax(x[0] * 2.0, axis); }});
      }
    cases.push_back({"softmax 1-D", {any({5})}, [](const In& x) { return softmax(x[0], 0); }});
    run(cases, 300);
  }

  TEST_CASE("shape and indexing ops, every axis form") {
    // Each shape op is linear, so its inputs go through a square first: the
    // second derivative is then non-zero and must be routed back correctly.
    const Shape s{2, 3, 4};
    std::vector<OpCase> cases = {
        {"reshape [2,3,4]->[6,4]", {any(s)}, [](const In& x) { return reshape(x[0] * x[0], {6, 4}); }},
        {"reshape ->[24]", {any(s)}, [](const In& x) { return reshape(x[0] * x[0], {24}); }},
        {"reshape ->[4,1,6]", {any(s)}, [](const In& x) { return reshape(x[0] * x[0], {4, 1, 6}); }},
        {"reshape to own shape", {any(s)}, [](const In& x) { return reshape(x[0], {2, 3, 4}); }},
        {"transpose default", {any(s)}, [](const In& x) { return transpose(x[0] * x[0]); }},
        {"transpose 0,2", {any(s)}, [](const In& x) { return transpose(x[0] * x[0], 0, 2); }},
        {"transpose -1,-3", {any(s)}, [](const In& x) { return transpose(x[0] * x[0], -1, -3); }},
        {"transpose 1,1", {any(s)}, [](const In& x) { return transpose(x[0] * x[0], 1, 1); }},
        {"unsqueeze 0", {any({2, 3})}, [](const In& x) { return unsqueeze(x[0] * x[0], 0); }},
        {"unsqueeze -1", {any({2, 3})}, [](const In& x) { return unsqueeze(x[0] * x[0], -1); }},
        {"squeeze -2", {any({2, 1, 3})}, [](const In& x) { return squeeze(x[0] * x[0], -2); }},
        {"slice axis 0", {any(s)}, [](const In& x) { return slice(x[0] * x[0], 0, 1, 2); }},
        {"slice axis 1", {any(s)}, [](const In& x) { return slice(x[0] * x[0], 1, 0, 2); }},
        {"slice axis -1", {any(s)}, [](const In& x) { return slice(x[0] * x[0], -1, 1, 4); }},
        {"select axis 0", {any(s)}, [](const In& x) { return select(x[0] * x[0], 0, 1); }},
        {"select axis -1", {any(s)}, [](const In& x) { return select(x[0] * x[0], -1, 2); }},
        {"select axis 1", {any(s)}, [](const In& x) { return select(x[0] * x[0], 1, 0); }},
        {"index_select axis 0, repeats", {any({3, 2})},
         [](const In& x) { return index_select(x[0] * x[0], 0, {2, 0, 2, 2}); }},
        {"index_select axis -1, repeats", {any(s)}, [](const In& x) { return index_select(x[0] * x[0], -1, {1, 1, 3}); }},
        {"index_select axis 1", {any(s)}, [](const In& x) { return index_select(x[0] * x[0], 1, {2, 0}); }},
        {"concat axis 0", {any({1, 3}), any({2, 3}), any({3})},
         [](const In& x) { return concat(In{x[0], x[1] * x[1], unsqueeze(x[2], 0)}, 0); }},
        {"concat axis 1", {any({2, 1}), any({2, 3})}, [](const In& x) { return concat(In{x[0] * x[0], x[1]}, 1); }},
        {"concat axis -1 of 3-D", {any({2, 3, 1}), any({2, 3, 2})},
         [](const In& x) { return concat(In{x[0] * x[1], x[1] * x[1]}, -1); }},
        {"concat one input twice", {any({2, 2})}, [](const In& x) { return concat(In{x[0], x[0] * x[0]}, 0); }},
        {"stack axis 0", {any({2, 3}), any({2, 3})}, [](const In& x) { return stack(In{x[0] * x[1], x[1]}, 0); }},
        {"stack axis 1", {any({2, 3}), any({2, 3})}, [](const In& x) { return stack(In{x[0] * x[1], x[0]}, 1); }},
        {"stack axis -1", {any({2, 3}), any({2, 3})}, [](const In& x) { return stack(In{x[0] * x[1], x[1]}, -1); }},
        {"expand [3,1]->[2,3,4]", {any({3, 1})}, [](const In& x) { return expand(x[0] * x[0], {2, 3, 4}); }},
        {"expand 0-D->[2,2]", {any({})}, [](const In& x) { return expand(x[0] * x[0], {2, 2}); }},
        {"expand [4]->[3,4]", {any({4})}, [](const In& x) { return expand(x[0] * x[0], {3, 4}); }},
        {"sum_to [2,3,4]->[3,1]", {any(s)}, [](const In& x) { return sum_to(x[0] * x[0], {3, 1}); }},
        {"sum_to ->0-D", {any(s)}, [](const In& x) { return sum_to(x[0] * x[0], {}); }},
        {"sum_to ->[4]", {any(s)}, [](const In& x) { return sum_to(x[0] * x[0], {4}); }},
        {"sum_to ->[2,1,4]", {any(s)}, [](const In& x) { return sum_to(x[0] * x[0], {2, 1, 4}); }},
        {"pad_slice axis 1", {any({2, 2})}, [](const In& x) { return pad_slice(x[0] * x[0], 1, 1, {2, 5}); }},
        {"pad_slice axis -2", {any({2, 3})}, [](const In& x) { return pad_slice(x[0] * x[0], -2, 2, {4, 3}); }},
        {"index_add axis 0, repeats", {any({4, 3})},
         [](const In& x) { return index_add(x[0] * x[0], 0, {1, 0, 1, 1}, {2, 3}); }},
        {"index_add axis -1", {any({2, 3})},
         [](const In& x) { return index_add(x[0] * x[0], -1, {3, 3, 0}, {2, 4}); }},
    };
    for (int axis : {0, 1, -1}) {
      cases.push_back({label("split axis ", axis), {any({4, 4})}, [axis](const In& x) {
                         auto parts = split(x[0], {1, 2, 1}, axis);
                         return concat(In{parts[2] * 2.0, exp(parts[1]), parts[0] * parts[0]}, axis);
                       }});
    }
    run(cases, 400);
  }

  TEST_CASE("matmul: every transpose flag, 2-D, batched, shared weight") {
    std::vector<OpCase> cases;
    for (auto [kind, batch_a, batch_b] : {std::tuple{"2-D", 0, 0}, std::tuple{"3-D batched", 2, 2},
                                          std::tuple{"3-D x 2-D shared", 3, 0}, std::tuple{"2-D x 3-D", 0, 2}})
      for (auto& c : matmul_cases(kind, static_cast<std::size_t>(batch_a), static_cast<std::size_t>(batch_b)))
        cases.push_back(std::move(c));
    cases.push_back({"linear 3-D x, bias", {any({2, 3, 4}), any({5, 4}), any({5})},
                     [](const In& x) { return linear(x[0], x[1], x[2]); }});
    cases.push_back({"linear 2-D, no bias", {any({3, 4}), any({5, 4})}, [](const In& x) { return linear(x[0], x[1]); }});
    cases.push_back({"matmul a·a (one input twice)", {any({3, 3})}, [](const In& x) { return matmul(x[0], x[0], true); }});
    run(cases, 500);
  }

  TEST_CASE("float gradchecks pass with the float tolerances") {
    Generator gen(7);
    auto x = randn<float>({3, 4}, gen, true);
    auto w = randn<float>({2, 4}, gen, true);
    CHECK_GRAD([](const std::vector<TensorF>& in) { return tanh(matmul(in[0], in[1], false, true)); }, {x, w});
    CHECK_GRAD([](const std::vector<TensorF>& in) { return log_softmax(in[0], -1); }, {x});
  }

  // ---- forward values, each computed here independently -------------------

  TEST_CASE("matmul forward matches a naive triple loop, every flag, batched and shared") {
    // C[b,i,j] = Σ_k op(A)[b,i,k] op(B)[b,k,j], with op(A)[i,k] read as A[k,i] when transposed.
    Generator gen(11);
    const std::size_t batch = 3, m = 2, k = 5, n = 4;
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool shared : {false, true}) {
          auto a = randn<double>(ta ? Shape{batch, k, m} : Shape{batch, m, k}, gen);
          auto b = randn<double>(shared ? (tb ? Shape{n, k} : Shape{k, n}) : (tb ? Shape{batch, n, k} : Shape{batch, k, n}),
                                 gen);
          auto c = matmul(a, b, ta, tb);
          REQUIRE(c.shape() == Shape{batch, m, n});
          const auto& A = a.value();
          const auto& B = b.value();
          for (std::size_t p = 0; p < batch; ++p)
            for (std::size_t i = 0; i < m; ++i)
              for (std::size_t j = 0; j < n; ++j) {
                double expected = 0;
                for (std::size_t q = 0; q < k; ++q) {
                  const double av = ta ? A(p, q, i) : A(p, i, q);
                  const double bv = shared ? (tb ? B(j, q) : B(q, j)) : (tb ? B(p, j, q) : B(p, q, j));
                  expected += av * bv;
                }
                CHECK(c.value()(p, i, j) == doctest::Approx(expected).epsilon(1e-12));
              }
        }
  }

  TEST_CASE("softmax, log_softmax, softplus, sigmoid forward values") {
    // softmax([1, 2, 3]) = e^i / (e + e² + e³), by std::exp; rows of a [2,3] along axis 0 likewise.
    TensorD x({1.0, 2.0, 3.0});
    const double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    auto y = softmax(x, 0);
    auto ly = log_softmax(x, -1);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(y.value()(i) == doctest::Approx(std::exp(i + 1.0) / total));
      CHECK(ly.value()(i) == doctest::Approx(i + 1.0 - std::log(total)));
    }
    // Along axis 0 of [[0, 10], [ln 3, 10]]: column 0 -> [1/4, 3/4], column 1 -> [1/2, 1/2].
    TensorD m({{0.0, 10.0}, {std::log(3.0), 10.0}});
    auto ym = softmax(m, 0);
    CHECK(ym.value()(0, 0) == doctest::Approx(0.25));
    CHECK(ym.value()(1, 0) == doctest::Approx(0.75));
    CHECK(ym.value()(1, 1) == doctest::Approx(0.5));
    // Large logits stay finite: softmax([1000, 1000]) = [1/2, 1/2].
    CHECK(softmax(TensorD({1000.0, 1000.0}), 0).value()(0) == doctest::Approx(0.5));
    // softplus(x) = ln(1 + e^x): 100 -> 100 (no overflow), -100 -> e^-100 (log1p keeps it), 0 -> ln 2.
    auto sp = softplus(TensorD({100.0, -100.0, 0.0}));
    CHECK(sp.value()(0) == doctest::Approx(100.0));
    CHECK(sp.value()(1) == doctest::Approx(std::exp(-100.0)).epsilon(1e-12));
    CHECK(sp.value()(2) == doctest::Approx(std::log(2.0)));
    CHECK(sigmoid(TensorD({0.0, std::log(3.0)})).value()(1) == doctest::Approx(0.75));  // 1/(1 + 1/3)
  }

  TEST_CASE("broadcasting, shape ops and indexing forward values") {
    // [3,1] + [1,4] -> [3,4] with out[i,j] = a[i] + b[j].
    TensorD a = reshape(TensorD({1.0, 2.0, 3.0}), {3, 1});  // a column
    TensorD b({{10.0, 20.0, 30.0, 40.0}});
    auto c = a + b;
    REQUIRE(c.shape() == Shape{3, 4});
    CHECK(c.value()(2, 1) == 23.0);
    // stack along -1 is the last axis (PyTorch): stack([x, y], -1)[i, j] = [x[i,j], y[i,j]].
    TensorD x({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto st = stack(In{x, x * 10.0}, -1);
    REQUIRE(st.shape() == Shape{2, 3, 2});
    CHECK(st.value()(1, 2, 0) == 6.0);
    CHECK(st.value()(1, 2, 1) == 60.0);
    CHECK(unsqueeze(x, -1).shape() == Shape{2, 3, 1});
    CHECK(unsqueeze(x, -3).shape() == Shape{1, 2, 3});
    // concat along axis 1: [[1,2,3,1],[4,5,6,4]] (x then its first column).
    auto cat = concat(In{x, slice(x, 1, 0, 1)}, 1);
    REQUIRE(cat.shape() == Shape{2, 4});
    CHECK(cat.value()(1, 3) == 4.0);
    CHECK(cat.value()(1, 1) == 5.0);
    // index_select picks rows, index_add sums repeated ones: rows {2, 0, 2} of x^T.
    auto picked = index_select(transpose(x), 0, {2, 0, 2});
    CHECK(picked.value()(0, 1) == 6.0);
    CHECK(picked.value()(1, 0) == 1.0);
    auto added = index_add(reshape(TensorD({1.0, 2.0, 4.0}), {3, 1}), 0, {1, 0, 1}, {2, 1});
    CHECK(added.value()(0, 0) == 2.0);
    CHECK(added.value()(1, 0) == 5.0);
    // pad_slice puts [7, 8] at columns 1..2 of a [1, 4] row of zeros.
    auto padded = pad_slice(TensorD({{7.0, 8.0}}), 1, 1, {1, 4});
    CHECK(padded.value()(0, 0) == 0.0);
    CHECK(padded.value()(0, 2) == 8.0);
    CHECK(padded.value()(0, 3) == 0.0);
    // where picks a where the mask is non-zero, broadcasting a 0-D b.
    auto w = where(TensorD({1.0, 0.0, -2.0}), TensorD({1.0, 2.0, 3.0}), TensorD::scalar(9.0));
    CHECK(w.value()(0) == 1.0);
    CHECK(w.value()(1) == 9.0);
    CHECK(w.value()(2) == 3.0);
  }

  TEST_CASE("max: ties share the gradient equally (PyTorch amax)") {
    // max([1, 3, 3]) = 3, reached twice: each tie gets half of the gradient.
    auto x = TensorD({1.0, 3.0, 3.0}).requires_grad_();
    max(x).backward();
    CHECK(x.grad().value()(0) == 0.0);
    CHECK(x.grad().value()(1) == 0.5);
    CHECK(x.grad().value()(2) == 0.5);
    // Along axis 1 of [[2, 2, 1], [0, 5, 4]]: row 0 ties (1/2, 1/2, 0), row 1 -> (0, 1, 0).
    auto m = TensorD({{2.0, 2.0, 1.0}, {0.0, 5.0, 4.0}}).requires_grad_();
    sum(max(m, 1)).backward();
    CHECK(m.grad().value()(0, 0) == 0.5);
    CHECK(m.grad().value()(0, 2) == 0.0);
    CHECK(m.grad().value()(1, 1) == 1.0);
  }
}
