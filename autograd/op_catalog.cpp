#include "op_catalog.hpp"

#include <cmath>
#include <sstream>
#include <tuple>
#include <utility>

#include "ops.hpp"
#include "random.hpp"

namespace rwd {

namespace {

using In = std::vector<Tensor<double>>;

OpInput any(Shape shape) { return {std::move(shape)}; }
OpInput positive(Shape shape) { return {std::move(shape), 0.5, 2.0}; }
OpInput away_from(Shape shape, std::vector<double> kinks) { return {std::move(shape), -1.0, 1.0, std::move(kinks)}; }
OpInput constant(Shape shape) { return {std::move(shape), -1.0, 1.0, {}, false}; }

constexpr double margin = 0.1;  // how far an input stays from each point it avoids

// "max axis -1 keepdim" (ostringstream: GCC 12 warns falsely on "literal" + std::string).
template <class... Parts>
std::string label(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
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

// arithmetic, with NumPy broadcasting
OpGroup arithmetic_group() {
  std::vector<OpCase> cases = {
    {"add (broadcast) [3,1]+[1,4]", {any({3, 1}), any({1, 4})}, [](const In& x) { return x[0] + x[1]; }},
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
  };
  return {"arithmetic", 100, std::move(cases)};
}

// elementwise functions
OpGroup elementwise_group() {
  std::vector<OpCase> cases = {
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
    {"rsqrt", {positive({2, 3})}, [](const In& x) { return rsqrt(x[0]); }},
    {"sin", {any({2, 3})}, [](const In& x) { return sin(x[0] * 3.0); }},
    {"cos", {any({2, 3})}, [](const In& x) { return cos(x[0] * 3.0); }},
    {"log_sigmoid", {any({2, 3})}, [](const In& x) { return log_sigmoid(x[0] * 4.0); }},
    {"log_sigmoid, large |x|", {{{2, 3}, -30.0, 30.0}}, [](const In& x) { return log_sigmoid(x[0]); }},
    {"gelu", {any({2, 3})}, [](const In& x) { return gelu(x[0] * 3.0); }},
    {"gelu tanh", {any({2, 3})}, [](const In& x) { return gelu(x[0] * 3.0, "tanh"); }},
  };
  return {"elementwise", 200, std::move(cases)};
}

// min (as max), var and std in every form, sum and mean over one int axis
std::vector<OpCase> min_var_std_cases() {
  std::vector<OpCase> cases = {
      {"min all", {any({2, 3, 4})}, [](const In& x) { return min(x[0]) * x[0]; }},
      {"min axis 1 + x sum", {any({3, 4})}, [](const In& x) { return min(x[0], 1) * sum(x[0], 1); }},
      {"sum int axis -1", {any({2, 3, 4})}, [](const In& x) { return sum(x[0] * x[0], -1); }},
      {"mean int axis 1 keepdim", {any({2, 3, 4})}, [](const In& x) { return mean(x[0] * x[0], 1, true); }},
      {"var all", {any({2, 3, 4})}, [](const In& x) { return var(x[0]); }},
      {"var all correction 0", {any({2, 3})}, [](const In& x) { return var(x[0], Correction{0}); }},
      {"var all unbiased false", {any({5})}, [](const In& x) { return var(x[0], false); }},
      {"var axis 1", {any({2, 3, 4})}, [](const In& x) { return var(x[0], 1); }},
      {"var axes 0 2 keepdim correction 2", {any({2, 3, 4})},
       [](const In& x) { return var(x[0], {0, 2}, Correction{2}, true); }},
      {"var axis -1 unbiased false", {any({3, 4})}, [](const In& x) { return var(x[0], -1, false); }},
      {"std all", {any({2, 3, 4})}, [](const In& x) { return std(x[0]); }},
      {"std axis -1 keepdim", {any({3, 4})}, [](const In& x) { return std(x[0], -1, true, true); }},
      {"std axes 0 1 correction 0", {any({2, 3, 4})}, [](const In& x) { return std(x[0], {0, 1}, Correction{0}); }},
  };
  for (bool keepdim : {false, true})
    for (int axis : {0, 2, -1})
      cases.push_back({label("min axis ", axis, keepdim ? " keepdim" : ""), {any({2, 3, 4})},
                       [axis, keepdim](const In& x) { return min(x[0] * x[0], axis, keepdim); }});
  return cases;
}

// reductions, every axis form
OpGroup reductions_group() {
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
  for (auto& c : min_var_std_cases()) cases.push_back(std::move(c));
  return {"reductions", 300, std::move(cases)};
}

// chunk: the last chunk smaller; fewer chunks than asked
std::vector<OpCase> chunk_cases() {
  return {{"chunk 3 of 7 axis 0", {any({7, 2})},
           [](const In& x) {
             auto parts = chunk(x[0], 3);  // sizes 3, 3, 1
             return concat(In{parts[0] * parts[0], parts[1] * 2.0, exp(parts[2])}, 0);
           }},
          {"chunk 4 of 6 axis -1 (three)", {any({2, 6})}, [](const In& x) {
             auto parts = chunk(x[0], 4, -1);  // sizes 2, 2, 2
             return concat(In{exp(parts[2]), parts[0] * parts[1]}, -1);
           }}};
}

// shape and indexing ops, every axis form
OpGroup shape_group() {
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
  for (auto& c : chunk_cases()) cases.push_back(std::move(c));
  return {"shape", 400, std::move(cases)};
}

// matmul: every transpose flag, 2-D, batched, shared weight
OpGroup matmul_group() {
  std::vector<OpCase> cases;
  for (auto [kind, batch_a, batch_b] : {std::tuple{"2-D", 0, 0}, std::tuple{"3-D batched", 2, 2},
                                        std::tuple{"3-D x 2-D shared", 3, 0}, std::tuple{"2-D x 3-D", 0, 2}})
    for (auto& c : matmul_cases(kind, static_cast<std::size_t>(batch_a), static_cast<std::size_t>(batch_b)))
      cases.push_back(std::move(c));
  cases.push_back({"linear 3-D x, bias", {any({2, 3, 4}), any({5, 4}), any({5})},
                   [](const In& x) { return linear(x[0], x[1], x[2]); }});
  cases.push_back({"linear 2-D, no bias", {any({3, 4}), any({5, 4})}, [](const In& x) { return linear(x[0], x[1]); }});
  cases.push_back({"matmul a·a (one input twice)", {any({3, 3})}, [](const In& x) { return matmul(x[0], x[0], true); }});
  return {"matmul", 500, std::move(cases)};
}

// layer_norm: over one and two trailing axes, with and without weight and bias
OpGroup normalization_group() {
  const Tensor<double> none;
  std::vector<OpCase> cases = {
      {"layer_norm [2,3,4] over [4]", {any({2, 3, 4}), any({4}), any({4})},
       [](const In& x) { return layer_norm(x[0], {4}, x[1], x[2]); }},
      {"layer_norm over [3,4], no affine", {any({2, 3, 4})}, [none](const In& x) { return layer_norm(x[0], {3, 4}); }},
      {"layer_norm weight only, eps 0.1", {any({3, 5}), any({5})},
       [none](const In& x) { return layer_norm(x[0], {5}, x[1], none, 0.1); }},
      {"layer_norm bias only", {any({3, 5}), any({5})}, [none](const In& x) { return layer_norm(x[0], {5}, none, x[1]); }},
      {"layer_norm 1-D over [6], x twice", {any({6}), any({6})},
       [](const In& x) { return layer_norm(x[0] * x[0], {6}, x[1], x[1]) * x[0]; }},
  };
  return {"normalization", 600, std::move(cases)};
}

}  // namespace

Tensor<double> draw(const OpInput& spec, Generator& gen) {
  Tensor<double> t = uniform<double>(spec.shape, spec.low, spec.high, gen);
  for (auto& v : t.mutable_value())
    for (double kink : spec.avoid)
      if (std::abs(v - kink) < margin) v = kink + (v < kink ? -margin : margin);
  return t.requires_grad_(spec.requires_grad);
}

std::vector<OpGroup> op_catalog() {
  return {arithmetic_group(), elementwise_group(), reductions_group(), shape_group(), matmul_group(),
          normalization_group()};
}

}  // namespace rwd
