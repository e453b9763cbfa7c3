// `rewind gradcheck`: gradient-checks every built-in op (double precision,
// central differences) and prints one row per check; exits 1 if any fails.
#include <functional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"

namespace rwd::app {

namespace {

using T = double;
using Fn = Function<T>;

struct Check {
  std::string name;
  std::vector<Shape> shapes;
  Fn f;
  bool second_order = false;  // also gradgradcheck
  bool positive = false;      // inputs drawn from (0.5, 1.5): log, sqrt, pow
};

std::vector<Check> op_catalog() {
  auto unary = [](auto op) { return Fn([op](const std::vector<Tensor<T>>& x) { return op(x[0]); }); };
  auto binary = [](auto op) { return Fn([op](const std::vector<Tensor<T>>& x) { return op(x[0], x[1]); }); };
  return {
      {"add (broadcast)", {{3, 1}, {1, 4}}, binary([](auto a, auto b) { return a + b; })},
      {"sub (broadcast)", {{2, 3, 4}, {4}}, binary([](auto a, auto b) { return a - b; })},
      {"mul (broadcast)", {{3, 4}, {3, 1}}, binary([](auto a, auto b) { return a * b; }), true},
      {"div", {{3, 4}, {3, 4}}, binary([](auto a, auto b) { return a / b; }), true, true},
      {"neg", {{5}}, unary([](auto a) { return -a; })},
      {"matmul", {{3, 4}, {4, 2}}, binary([](auto a, auto b) { return matmul(a, b); }), true},
      {"matmul (Aᵀ Bᵀ)", {{4, 3}, {2, 4}}, binary([](auto a, auto b) { return matmul(a, b, true, true); }), true},
      {"matmul (batched)", {{2, 3, 4}, {2, 4, 2}}, binary([](auto a, auto b) { return matmul(a, b); }), true},
      {"matmul (3-D x 2-D)", {{2, 3, 4}, {4, 2}}, binary([](auto a, auto b) { return matmul(a, b); }), true},
      {"exp", {{3, 4}}, unary([](auto a) { return exp(a); }), true},
      {"log", {{3, 4}}, unary([](auto a) { return log(a); }), true, true},
      {"tanh", {{3, 4}}, unary([](auto a) { return tanh(a); }), true},
      {"sigmoid", {{3, 4}}, unary([](auto a) { return sigmoid(a); }), true},
      {"relu", {{3, 4}}, unary([](auto a) { return relu(a); })},
      {"softplus", {{3, 4}}, unary([](auto a) { return softplus(a); }), true},
      {"pow 3", {{3, 4}}, unary([](auto a) { return pow(a, 3.0); }), true, true},
      {"sqrt", {{3, 4}}, unary([](auto a) { return sqrt(a); }), true, true},
      {"abs", {{3, 4}}, unary([](auto a) { return abs(a); })},
      {"clamp", {{3, 4}}, unary([](auto a) { return clamp(a, -0.5, 0.5); })},
      {"sum (axis 1)", {{3, 4}}, unary([](auto a) { return sum(a, {1}); })},
      {"mean (axes 0, 2)", {{2, 3, 4}}, unary([](auto a) { return mean(a, {0, 2}); })},
      {"max (axis -1)", {{3, 4}}, unary([](auto a) { return max(a, -1); })},
      {"softmax", {{3, 4}}, unary([](auto a) { return softmax(a, -1); }), true},
      {"log_softmax", {{3, 4}}, unary([](auto a) { return log_softmax(a, 1); }), true},
      {"transpose", {{2, 3, 4}}, unary([](auto a) { return transpose(a, 0, 2); })},
      {"reshape", {{2, 6}}, unary([](auto a) { return reshape(a, {3, 4}); })},
      {"slice", {{5, 3}}, unary([](auto a) { return slice(a, 0, 1, 4); })},
      {"index_select", {{4, 3}}, unary([](auto a) { return index_select(a, 0, {3, 0, 3}); })},
      {"concat", {{2, 3}, {4, 3}}, binary([](auto a, auto b) { return concat<T>({a, b}, 0); })},
      {"stack", {{2, 3}, {2, 3}}, binary([](auto a, auto b) { return stack<T>({a, b}, 1); })},
      {"where", {{3, 4}, {3, 4}}, binary([](auto a, auto b) {
         return where(Tensor<T>(xt::xarray<T>{{1, 0, 1, 0}}), a, b);
       })},
  };
}

}  // namespace

void add_gradcheck_command(CLI::App& cli, int& exit_code) {
  auto* cmd = cli.add_subcommand("gradcheck", "Gradient-check every built-in op against central finite differences");
  cmd->callback([&exit_code] {
    Generator gen(2024);
    int failures = 0;
    fmt::print("{:<22} {:<22} {:>12} {:>12}  {}\n", "check", "shapes", "max error", "2nd order", "result");
    for (const auto& check : op_catalog()) {
      std::vector<Tensor<T>> inputs;
      std::string shapes;
      for (const auto& shape : check.shapes) {
        inputs.push_back(check.positive ? uniform<T>(shape, 0.5, 1.5, gen, true) : randn<T>(shape, gen, true));
        shapes += (shapes.empty() ? "" : " ") + format_shape(shape);
      }
      GradcheckOptions options;
      options.name = check.name;
      auto first = gradcheck<T>(check.f, inputs, options);
      double first_error = 0, second_error = 0;
      for (const auto& input : first.inputs) first_error = std::max(first_error, input.max_abs_error);
      bool passed = first.passed();
      if (check.second_order) {
        auto second = gradgradcheck<T>(check.f, inputs, options);
        for (const auto& input : second.inputs) second_error = std::max(second_error, input.max_abs_error);
        passed = passed && second.passed();
      }
      failures += passed ? 0 : 1;
      fmt::print("{:<22} {:<22} {:>12.2e} {:>12} {}\n", check.name, shapes, first_error,
                 check.second_order ? fmt::format("{:.2e}", second_error) : "-", passed ? "pass" : "FAIL");
    }
    fmt::print("{} checks, {} failed\n", op_catalog().size(), failures);
    exit_code = failures ? 1 : 0;
  });
}

}  // namespace rwd::app
