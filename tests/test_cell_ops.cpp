// The ops a custom recurrent cell needs (issue 26): forward values and
// gradients against PyTorch 1.13 from tests/data/cell_ops_reference.txt,
// written by the committed script tests/data/make_cell_ops_reference.py (the
// format is described there; gradients are of sum(output * r) for the file's
// cotangent r), then their error messages and the semantics PyTorch defines
// (chunk sizes, ties, overloads). Their gradchecks are in the op catalog
// (tests/test_ops.cpp).
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

#include "test_support.hpp"

using namespace rwd;

namespace {

using In = std::vector<TensorD>;

struct ReferenceCase {
  std::string name;
  std::vector<xt::xarray<double>> inputs, cotangents, outputs, grads;
};

xt::xarray<double> read_array(std::istringstream& line) {
  std::size_t rank = 0;
  line >> rank;
  std::vector<std::size_t> shape(rank);
  for (auto& d : shape) line >> d;
  xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
  for (auto& v : a) line >> v;
  if (line.fail()) throw std::runtime_error("cell_ops_reference.txt: malformed tensor line");
  return a;
}

std::vector<ReferenceCase> reference_cases() {
  std::ifstream file(std::string(REWIND_TEST_DATA) + "/cell_ops_reference.txt");
  if (!file) throw std::runtime_error("cannot open tests/data/cell_ops_reference.txt");
  std::vector<ReferenceCase> out;
  std::string text;
  while (std::getline(file, text)) {
    std::istringstream line(text);
    std::string kind;
    line >> kind;
    if (kind == "case") {
      out.emplace_back();
      std::getline(line >> std::ws, out.back().name);
    } else if (kind == "input") {
      out.back().inputs.push_back(read_array(line));
    } else if (kind == "cotangent") {
      out.back().cotangents.push_back(read_array(line));
    } else if (kind == "output") {
      out.back().outputs.push_back(read_array(line));
    } else if (kind == "grad") {
      out.back().grads.push_back(read_array(line));
    }
  }
  return out;
}

// The Rewind function of each case, by the name the script gives it.
const std::map<std::string, std::function<In(const In&)>>& functions() {
  const TensorD none;
  static const std::map<std::string, std::function<In(const In&)>> f = {
      {"layer_norm affine [4]", [](const In& x) { return In{layer_norm(x[0], {4}, x[1], x[2])}; }},
      {"layer_norm [3,4] no affine", [](const In& x) { return In{layer_norm(x[0], {3, 4})}; }},
      {"layer_norm weight only eps 0.1", [none](const In& x) { return In{layer_norm(x[0], {5}, x[1], none, 0.1)}; }},
      {"var all", [](const In& x) { return In{var(x[0])}; }},
      {"var all unbiased false", [](const In& x) { return In{var(x[0], false)}; }},
      {"var dim 1", [](const In& x) { return In{var(x[0], 1)}; }},
      {"var dims 0 2 correction 2 keepdim", [](const In& x) { return In{var(x[0], {0, 2}, Correction{2}, true)}; }},
      {"var dim -1 unbiased false", [](const In& x) { return In{var(x[0], -1, false)}; }},
      {"std all", [](const In& x) { return In{rwd::std(x[0])}; }},
      {"std dim -1 keepdim", [](const In& x) { return In{rwd::std(x[0], -1, true, true)}; }},
      {"std dims 0 1 correction 0", [](const In& x) { return In{rwd::std(x[0], {0, 1}, Correction{0})}; }},
      {"rsqrt", [](const In& x) { return In{rsqrt(x[0])}; }},
      {"sin", [](const In& x) { return In{sin(x[0])}; }},
      {"cos", [](const In& x) { return In{cos(x[0])}; }},
      {"log_sigmoid", [](const In& x) { return In{log_sigmoid(x[0])}; }},
      {"gelu", [](const In& x) { return In{gelu(x[0])}; }},
      {"gelu tanh", [](const In& x) { return In{gelu(x[0], "tanh")}; }},
      {"min all", [](const In& x) { return In{min(x[0])}; }},
      {"min dim 1 keepdim", [](const In& x) { return In{min(x[0], 1, true)}; }},
      {"min ties dim 1", [](const In& x) { return In{min(x[0], 1)}; }},
      {"min ties all", [](const In& x) { return In{min(x[0])}; }},
      {"max ties dim 1", [](const In& x) { return In{max(x[0], 1)}; }},
      {"max ties all", [](const In& x) { return In{max(x[0])}; }},
      {"sum int dim -1", [](const In& x) { return In{sum(x[0], -1)}; }},
      {"mean int dim 1 keepdim", [](const In& x) { return In{mean(x[0], 1, true)}; }},
      {"chunk 3 of 7 dim 0", [](const In& x) { return chunk(x[0], 3, 0); }},
      {"chunk 4 of 6 dim -1", [](const In& x) { return chunk(x[0], 4, -1); }},
  };
  return f;
}

}  // namespace

TEST_SUITE("cell_ops") {
  TEST_CASE("forward values and gradients equal PyTorch's") {
    const auto cases = reference_cases();
    CHECK(cases.size() == functions().size());
    for (const auto& c : cases) {
      INFO("case: ", c.name);
      REQUIRE(functions().count(c.name) == 1);
      In inputs;
      for (const auto& x : c.inputs) inputs.push_back(TensorD(xt::xarray<double>(x)).requires_grad_(true));
      const In outputs = functions().at(c.name)(inputs);
      REQUIRE(outputs.size() == c.outputs.size());
      TensorD loss = zeros<double>({});
      for (std::size_t k = 0; k < outputs.size(); ++k) {
        test_support::check_close(outputs[k].value(), c.outputs[k], 1e-12);
        loss = loss + sum(outputs[k] * TensorD(xt::xarray<double>(c.cotangents[k])));
      }
      loss.backward();
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        INFO("gradient of input ", i);
        REQUIRE(inputs[i].grad().defined());
        test_support::check_close(inputs[i].grad().value(), c.grads[i], 1e-12);
      }
    }
  }

  TEST_CASE("errors name the op and what was expected") {
    const auto x = zeros<double>({2, 3});
    CHECK_THROWS_WITH_AS(layer_norm(x, {}), "layer_norm: normalized_shape is empty; it must name at least one trailing axis",
                         Error);
    CHECK_THROWS_WITH_AS(layer_norm(x, {4}), "layer_norm: input of shape [2, 3] does not end in normalized_shape [4]",
                         Error);
    CHECK_THROWS_WITH_AS(layer_norm(x, {1, 2, 3}),
                         "layer_norm: input of shape [2, 3] does not end in normalized_shape [1, 2, 3]", Error);
    CHECK_THROWS_WITH_AS(layer_norm(zeros<double>({2, 0}), {0}), "layer_norm: normalized_shape [0] has no elements", Error);
    CHECK_THROWS_WITH_AS(layer_norm(x, {3}, zeros<double>({2})),
                         "layer_norm: weight has shape [2], expected normalized_shape [3]", Error);
    CHECK_THROWS_WITH_AS(layer_norm(x, {3}, TensorD(), zeros<double>({3, 1})),
                         "layer_norm: bias has shape [3, 1], expected normalized_shape [3]", Error);
    CHECK_THROWS_WITH_AS(gelu(x, "erf"), "gelu: approximate must be \"none\" or \"tanh\", got \"erf\"", Error);
    CHECK_THROWS_WITH_AS(chunk(x, 0), "chunk: chunks must be greater than 0, got 0", Error);
    CHECK_THROWS_WITH_AS(chunk(x, 2, 2), "chunk: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(min(zeros<double>({0})), "min: the tensor is empty", Error);
    CHECK_THROWS_WITH_AS(min(zeros<double>({2, 0}), 1), "min: reducing over an empty axis of shape [2, 0]", Error);
    CHECK_THROWS_WITH_AS(min(x, -3), "min: axis -3 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(var(x, {2}), "var: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(rwd::std(x, -3), "var: axis -3 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(sum(x, 2), "sum: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(mean(x, -3, true), "mean: axis -3 is out of range for a tensor of rank 2", Error);
  }

  TEST_CASE("chunk: sizes as torch.chunk gives them") {
    auto sizes = [](const std::vector<TensorD>& parts, int axis) {
      std::vector<std::size_t> out;
      for (const auto& p : parts) out.push_back(p.size(axis));
      return out;
    };
    CHECK(sizes(chunk(zeros<double>({7, 2}), 3), 0) == std::vector<std::size_t>{3, 3, 1});
    CHECK(sizes(chunk(zeros<double>({6, 2}), 4), 0) == std::vector<std::size_t>{2, 2, 2});  // fewer than asked
    CHECK(sizes(chunk(zeros<double>({2, 5}), 3, -1), -1) == std::vector<std::size_t>{2, 2, 1});
    CHECK(sizes(chunk(zeros<double>({2, 3}), 5, 1), 1) == std::vector<std::size_t>{1, 1, 1});
    CHECK(sizes(chunk(zeros<double>({0, 2}), 3), 0) == std::vector<std::size_t>{0, 0, 0});  // torch 1.13
  }

  TEST_CASE("one int axis and a braced list mean the same; {} is no axes") {
    Generator gen(3);
    const auto x = randn<double>({2, 3, 4}, gen);
    CHECK(sum(x, 1).shape() == Shape{2, 4});
    CHECK(sum(x, {1}).shape() == Shape{2, 4});
    CHECK(mean(x, -1, true).shape() == Shape{2, 3, 1});
    CHECK(sum(x, {}).shape() == x.shape());
    CHECK(var(x, 1).shape() == Shape{2, 4});
    CHECK(var(x, {1}).shape() == Shape{2, 4});
    CHECK(var(x).shape() == Shape{});
    CHECK(rwd::std(x, {0, 2}, false, true).shape() == Shape{1, 3, 1});
    // a single element: N - 1 = 0, so nan (PyTorch: nan and a warning)
    CHECK(std::isnan(var(ones<double>({1})).item()));
    CHECK(var(ones<double>({1}), false).item() == 0.0);
  }

  TEST_CASE_TEMPLATE("the new ops run in float too", T, float, double) {
    Generator gen(5);
    const auto x = randn<T>({3, 4}, gen, true);
    auto y = layer_norm(x, {4}, ones<T>({4}), zeros<T>({4})) + rsqrt(x * x + T(1)) + sin(x) * cos(x) +
             log_sigmoid(x) + gelu(x) + gelu(x, "tanh") + var(x, -1, true, true) + rwd::std(x, 0) + min(x, 1, true);
    sum(y).backward();
    CHECK(x.grad().shape() == x.shape());
  }

  TEST_CASE("nn::LayerNorm: PyTorch's parameter names, init, printing and state dict") {
    nn::LayerNorm<double> ln({3, 4});
    const auto named = ln.named_parameters();
    REQUIRE(named.size() == 2);
    CHECK(named[0].first == "weight");
    CHECK(named[1].first == "bias");
    CHECK(ln.weight.shape() == Shape{3, 4});
    CHECK(ln.weight.value() == xt::ones<double>({3, 4}));
    CHECK(ln.bias.value() == xt::zeros<double>({3, 4}));
    CHECK(ln.to_string() == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)");
    CHECK(nn::LayerNorm<float>({4}, 1e-3, false).to_string() == "LayerNorm((4,), eps=0.001, elementwise_affine=False)");
    CHECK(nn::LayerNorm<float>({4}, 1e-3, false).parameters().empty());
    // loaded values are what forward uses: the same as the functional form
    Generator gen(9);
    const auto w = randn<double>({3, 4}, gen), b = randn<double>({3, 4}, gen), x = randn<double>({2, 3, 4}, gen);
    nn::load_state_dict(ln, nn::StateDict<double>{{"weight", w.value()}, {"bias", b.value()}});
    CHECK(nn::state_dict(ln).at("bias") == b.value());
    CHECK(ln(x).value() == layer_norm(x, {3, 4}, w, b).value());
    CHECK_THROWS_WITH_AS(nn::LayerNorm<double>({}), "LayerNorm: normalized_shape is empty; it must name at least one axis",
                         Error);
    CHECK_THROWS_WITH_AS(nn::LayerNorm<double>({4}, 0.0), "LayerNorm: eps must be positive, got 0", Error);
    CHECK_THROWS_WITH_AS(ln(zeros<double>({2, 4})),
                         "layer_norm: input of shape [2, 4] does not end in normalized_shape [3, 4]", Error);
  }

  // A layer-normalised LSTM cell (Ba, Kiros & Hinton 2016, eqs. 20-22) written
  // with the new ops: gates = LN(W_ih x) + LN(W_hh h) + b, split by chunk;
  // c' = σ(f) c + σ(i) tanh(g); h' = σ(o) tanh(LN(c')). Every input and
  // parameter checked, first and second order.
  TEST_CASE("a layer-normalised LSTM cell built from the new ops gradchecks") {
    Generator gen(26);
    const std::size_t B = 2, I = 3, H = 2;
    const In inputs = {randn<double>({B, I}, gen, true),     randn<double>({B, H}, gen, true),
                       randn<double>({B, H}, gen, true),     randn<double>({4 * H, I}, gen, true),
                       randn<double>({4 * H, H}, gen, true), randn<double>({4 * H}, gen, true),
                       randn<double>({4 * H}, gen, true),    randn<double>({4 * H}, gen, true),
                       randn<double>({4 * H}, gen, true),    randn<double>({4 * H}, gen, true),
                       randn<double>({H}, gen, true),        randn<double>({H}, gen, true)};
    auto cell = [](const In& p) {
      const auto& [x, h, c, w_ih, w_hh, b] = std::tie(p[0], p[1], p[2], p[3], p[4], p[5]);
      const auto gates = layer_norm(linear(x, w_ih), {8}, p[6], p[7]) + layer_norm(linear(h, w_hh), {8}, p[8], p[9]) + b;
      const auto parts = chunk(gates, 4, -1);  // i, f, g, o
      const auto c_next = sigmoid(parts[1]) * c + sigmoid(parts[0]) * tanh(parts[2]);
      const auto h_next = sigmoid(parts[3]) * tanh(layer_norm(c_next, {2}, p[10], p[11]));
      return concat(In{h_next, c_next}, -1);
    };
    GradcheckOptions options;
    options.name = "layer-normalised LSTM cell";
    CHECK_GRAD(cell, inputs, options);
    CHECK_GRADGRAD(cell, inputs, options);
  }
}
