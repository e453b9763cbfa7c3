// Second derivatives through every recurrent layer as users build it (fused
// steps by default), through checkpoint(), and the functional hvp/jvp API:
// gradgradcheck in full mode (double) compares the recorded gradient's
// Jacobian with central differences of the gradient; hvp and jvp are compared
// with central differences of the gradient and of the function.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <xtensor/xmath.hpp>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using nn::RecurrentOptions;

namespace {

enum class Cell { rnn_tanh, rnn_relu, lstm, gru };

const char* name_of(Cell cell) {
  switch (cell) {
    case Cell::rnn_tanh: return "RNN tanh";
    case Cell::rnn_relu: return "RNN relu";
    case Cell::lstm: return "LSTM";
    case Cell::gru: return "GRU";
  }
  return "?";
}

std::unique_ptr<nn::Recurrent<double>> layer_of(Cell cell, RecurrentOptions options,
                                                const std::vector<TensorD>& parameters) {
  static Generator unused(0);
  if (parameters.empty()) {  // fresh ones
    if (cell == Cell::lstm) return std::make_unique<nn::LSTM<double>>(options, unused);
    if (cell == Cell::gru) return std::make_unique<nn::GRU<double>>(options, unused);
    return std::make_unique<nn::RNN<double>>(options, unused);
  }
  if (cell == Cell::lstm) return std::make_unique<nn::LSTM<double>>(options, parameters, unused);
  if (cell == Cell::gru) return std::make_unique<nn::GRU<double>>(options, parameters, unused);
  options.nonlinearity = cell == Cell::rnn_relu ? nn::Nonlinearity::relu : nn::Nonlinearity::tanh;
  return std::make_unique<nn::RNN<double>>(options, parameters, unused);
}

// gradgradcheck of x, h0 and every parameter -> (output, final states), for a
// layer with `options` and `lengths`.
GradcheckReport check_layer(Cell cell, const RecurrentOptions& options, const std::vector<std::size_t>& lengths) {
  Generator gen(31);
  auto fresh = layer_of(cell, options, {});
  const std::size_t rows = options.num_layers * (options.bidirectional ? 2 : 1);
  std::vector<TensorD> inputs{randn<double>({3, 2, options.input_size}, gen, true),
                              randn<double>({rows, 2, options.hidden_size}, gen, true)};
  // relu: keep pre-activations away from its kink, where differences are not derivatives
  for (const auto& p : fresh->parameters()) {
    xt::xarray<double> value = p.value();
    if (cell == Cell::rnn_relu) value = xt::abs(value) + 0.1;
    inputs.push_back(TensorD(value, true));
  }
  if (cell == Cell::rnn_relu) inputs[0] = TensorD(xt::abs(inputs[0].value()) + 0.1, true);
  const auto f = [cell, options, lengths](const std::vector<TensorD>& in) {
    auto layer = layer_of(cell, options, {in.begin() + 2, in.end()});
    auto result = layer->forward(in[0], {in[1]}, lengths);
    std::vector<TensorD> parts{reshape(result.output, {result.output.numel()})};
    for (const auto& s : result.final_state) parts.push_back(reshape(s, {s.numel()}));
    return concat(parts, 0);
  };
  GradcheckOptions check;
  check.name = name_of(cell);
  return gradgradcheck<double>(f, inputs, check);
}

}  // namespace

TEST_SUITE("layer_second_order") {
  TEST_CASE("gradgradcheck through the default (fused) RNN tanh/relu, LSTM and GRU layers") {
    for (Cell cell : {Cell::rnn_tanh, Cell::rnn_relu, Cell::lstm, Cell::gru}) {
      CAPTURE(name_of(cell));
      const auto report = check_layer(cell, {.input_size = 2, .hidden_size = 2}, {});
      CHECK_MESSAGE(report.passed(), report.to_string());
    }
  }

  TEST_CASE("gradgradcheck through stacked, bidirectional, variable-length and checkpointed layers") {
    struct Case {
      const char* what;
      RecurrentOptions options;
      std::vector<std::size_t> lengths;
    };
    const Case cases[] = {
        {"stacked", {.input_size = 2, .hidden_size = 2, .num_layers = 2}, {}},
        {"bidirectional", {.input_size = 2, .hidden_size = 2, .bidirectional = true}, {}},
        {"lengths", {.input_size = 2, .hidden_size = 2, .bidirectional = true}, {3, 1}},
        {"checkpoint_segment", {.input_size = 2, .hidden_size = 2, .checkpoint_segment = 2}, {2, 3}},
    };
    for (Cell cell : {Cell::lstm, Cell::gru, Cell::rnn_tanh})
      for (const auto& c : cases) {
        CAPTURE(name_of(cell));
        CAPTURE(c.what);
        const auto report = check_layer(cell, c.options, c.lengths);
        CHECK_MESSAGE(report.passed(), report.to_string());
      }
  }

  TEST_CASE("gradgradcheck through checkpoint() itself") {
    Generator gen(32);
    const TensorD x = randn<double>({3, 2}, gen, true), w = randn<double>({2, 2}, gen, true);
    const auto f = [](const std::vector<TensorD>& in) {
      const CheckpointFn<double> inner = [](const std::vector<TensorD>& a) {
        const TensorD h = tanh(matmul(a[0], a[1]));
        return std::vector<TensorD>{h * h, sigmoid(h)};
      };
      const auto out = checkpoint<double>(inner, {in[0], in[1]});
      return concat(std::vector<TensorD>{reshape(out[0], {6}), reshape(out[1], {6})}, 0);
    };
    const auto report = gradgradcheck<double>(f, {x, w});
    CHECK_MESSAGE(report.passed(), report.to_string());
    // and a checkpoint whose params (leaves used from the closure) get second derivatives too
    const auto g = [w](const std::vector<TensorD>& in) {
      const CheckpointFn<double> inner = [w](const std::vector<TensorD>& a) {
        return std::vector<TensorD>{tanh(matmul(a[0], w))};
      };
      return reshape(checkpoint<double>(inner, {in[0]}, {w})[0], {6});
    };
    const auto with_params = gradgradcheck<double>(g, {x});
    CHECK_MESSAGE(with_params.passed(), with_params.to_string());
  }

  TEST_CASE("hvp through a (fused) LSTM equals central differences of its gradient") {
    Generator gen(33);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 3}, gen);
    const TensorD x = randn<double>({4, 2, 2}, gen), y = randn<double>({4, 2, 3}, gen);
    const std::vector<TensorD> weights = lstm.parameters();
    const auto loss = [&](const std::vector<TensorD>& w) {
      nn::LSTM<double> layer({.input_size = 2, .hidden_size = 3}, w);
      return mean(pow(layer.forward(x).output - y, 2.0));
    };
    std::vector<TensorD> v;
    for (const auto& w : weights) v.push_back(randn<double>(w.shape(), gen));
    const HvpResult<double> result = hvp<double>(loss, weights, v);
    CHECK(result.value.item() == doctest::Approx(loss(weights).item()).epsilon(1e-12));
    // (∇L(w + εv) - ∇L(w - εv)) / 2ε
    const double eps = 1e-5;
    auto gradient_at = [&](double sign) {
      std::vector<TensorD> moved;
      for (std::size_t i = 0; i < weights.size(); ++i)
        moved.push_back(TensorD(xt::xarray<double>(weights[i].value() + sign * eps * v[i].value()), true));
      return grad<double>({loss(moved)}, moved);
    };
    const auto plus = gradient_at(1), minus = gradient_at(-1);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      CAPTURE(i);
      const xt::xarray<double> numeric = (plus[i].value() - minus[i].value()) / (2 * eps);
      CHECK(xt::amax(xt::abs(result.hvp[i].value() - numeric))() <= 1e-6 * (1 + xt::amax(xt::abs(numeric))()));
    }
    // Hessians are symmetric: uᵀ(Hv) = vᵀ(Hu)
    std::vector<TensorD> u;
    for (const auto& w : weights) u.push_back(randn<double>(w.shape(), gen));
    const auto hu = hvp<double>(loss, weights, u).hvp;
    double u_hv = 0, v_hu = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      u_hv += xt::sum(u[i].value() * result.hvp[i].value())();
      v_hu += xt::sum(v[i].value() * hu[i].value())();
    }
    CHECK(u_hv == doctest::Approx(v_hu).epsilon(1e-10));
  }

  TEST_CASE("jvp through a (fused) GRU equals central differences of the function") {
    Generator gen(34);
    nn::GRU<double> gru({.input_size = 2, .hidden_size = 3, .bidirectional = true}, gen);
    const std::vector<TensorD> inputs{randn<double>({4, 2, 2}, gen), randn<double>({2, 2, 3}, gen)};
    const auto f = [&](const std::vector<TensorD>& in) { return gru.forward(in[0], in[1]).output; };
    const std::vector<TensorD> tangents{randn<double>({4, 2, 2}, gen), randn<double>({2, 2, 3}, gen)};
    const JvpResult<double> result = jvp<double>(f, inputs, tangents);
    const double eps = 1e-6;
    auto at = [&](double sign) {
      std::vector<TensorD> moved;
      for (std::size_t i = 0; i < inputs.size(); ++i)
        moved.push_back(TensorD(xt::xarray<double>(inputs[i].value() + sign * eps * tangents[i].value())));
      return f(moved).value();
    };
    const xt::xarray<double> numeric = (at(1) - at(-1)) / (2 * eps);
    REQUIRE(result.jvp.shape() == result.value.shape());
    CHECK(xt::amax(xt::abs(result.jvp.value() - numeric))() <= 1e-7 * (1 + xt::amax(xt::abs(numeric))()));
  }

  TEST_CASE("hvp and jvp name what is wrong with their arguments") {
    const TensorD x({1.0, 2.0});
    const auto square = [](const std::vector<TensorD>& in) { return sum(in[0] * in[0]); };
    CHECK_THROWS_WITH_AS(hvp<double>(square, {x}, {}), "hvp: got 0 direction tensors for 1 inputs", Error);
    CHECK_THROWS_WITH_AS(jvp<double>(square, {x}, {TensorD({1.0})}),
                         "jvp: input 0 has shape [2] whereas its direction has shape [1]", Error);
    const auto vector_valued = [](const std::vector<TensorD>& in) { return in[0] * in[0]; };
    CHECK_THROWS_WITH_AS(hvp<double>(vector_valued, {x}, {x}), "hvp: f must return a one-element tensor, got shape [2]",
                         Error);
    // a function linear in its input has a zero Hessian
    const auto linear_f = [](const std::vector<TensorD>& in) { return sum(in[0] * 3.0); };
    CHECK(xt::amax(xt::abs(hvp<double>(linear_f, {x}, {x}).hvp[0].value()))() == 0.0);
  }
}
