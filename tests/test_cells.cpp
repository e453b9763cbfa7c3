// The built-in cells: gradients of one step w.r.t. input, state and every
// parameter (one table-driven check for all cells), shape errors, and the
// parameter initialisations. Forward values against PyTorch are in
// test_recurrent_reference.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include <xtensor/xmath.hpp>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using nn::CellWeights;

namespace {

// One row of the table: a cell type, how to build it from given weights, and
// its typed step function (forward) on a state list.
struct CellKind {
  const char* name;
  std::size_t gates, states;
  std::function<RecurrentState<double>(const CellWeights<double>&, const TensorD& x, const RecurrentState<double>& state)> forward;
};

const std::vector<CellKind>& cell_kinds() {
  static const std::vector<CellKind> kinds{
      {"RNNCell tanh", 1, 1,
       [](const auto& w, const TensorD& x, const RecurrentState<double>& s) {
         return RecurrentState<double>{nn::RNNCell<double>(w).forward(x, s[0])};
       }},
      {"RNNCell relu", 1, 1,
       [](const auto& w, const TensorD& x, const RecurrentState<double>& s) {
         return RecurrentState<double>{nn::RNNCell<double>(w, nn::Nonlinearity::relu).forward(x, s[0])};
       }},
      {"LSTMCell", 4, 2,
       [](const auto& w, const TensorD& x, const RecurrentState<double>& s) {
         auto [h, c] = nn::LSTMCell<double>(w).forward(x, {s[0], s[1]});
         return RecurrentState<double>{h, c};
       }},
      {"GRUCell", 3, 1,
       [](const auto& w, const TensorD& x, const RecurrentState<double>& s) {
         return RecurrentState<double>{nn::GRUCell<double>(w).forward(x, s[0])};
       }},
  };
  return kinds;
}

// Everything the step returns, flattened into one vector for gradcheck.
TensorD flatten_all(const RecurrentState<double>& state) {
  std::vector<TensorD> parts;
  for (const auto& t : state) parts.push_back(reshape(t, {t.numel()}));
  return concat(parts, 0);
}

}  // namespace

TEST_SUITE("recurrent_cells") {
  TEST_CASE("every cell's step is gradient-checked w.r.t. input, state and all parameters") {
    const std::size_t batch = 2, input_size = 3, hidden = 2;
    for (const auto& kind : cell_kinds()) {
      for (bool bias : {true, false}) {
        CAPTURE(kind.name);
        CAPTURE(bias);
        Generator gen(11);
        // inputs: x, the state tensors, then weight_ih, weight_hh[, bias_ih, bias_hh]
        std::vector<TensorD> inputs{randn<double>({batch, input_size}, gen, true)};
        for (std::size_t k = 0; k < kind.states; ++k) inputs.push_back(randn<double>({batch, hidden}, gen, true));
        const std::size_t first_weight = inputs.size();
        inputs.push_back(randn<double>({kind.gates * hidden, input_size}, gen, true));
        inputs.push_back(randn<double>({kind.gates * hidden, hidden}, gen, true));
        if (bias) {
          inputs.push_back(randn<double>({kind.gates * hidden}, gen, true));
          inputs.push_back(randn<double>({kind.gates * hidden}, gen, true));
        }
        auto f = [&](const std::vector<TensorD>& in) {
          CellWeights<double> w{in[first_weight], in[first_weight + 1], bias ? in[first_weight + 2] : TensorD(),
                                bias ? in[first_weight + 3] : TensorD()};
          RecurrentState<double> state(in.begin() + 1, in.begin() + static_cast<std::ptrdiff_t>(first_weight));
          return flatten_all(kind.forward(w, in[0], state));
        };
        CHECK_GRAD(f, inputs);
      }
    }
  }

  TEST_CASE("cells register PyTorch's parameter names and shapes; forward(x) starts from zeros") {
    Generator gen(0);
    nn::LSTMCell<double> lstm(3, 5, true, gen);
    std::vector<std::pair<std::string, Shape>> expected{
        {"weight_ih", {20, 3}}, {"weight_hh", {20, 5}}, {"bias_ih", {20}}, {"bias_hh", {20}}};
    auto named = lstm.named_parameters();
    REQUIRE(named.size() == expected.size());
    for (std::size_t i = 0; i < named.size(); ++i) {
      CHECK(named[i].first == expected[i].first);
      CHECK(named[i].second.shape() == expected[i].second);
    }
    CHECK(nn::GRUCell<float>(3, 5, false).named_parameters().size() == 2);
    CHECK(nn::GRUCell<float>(3, 5).weight_hh().shape() == Shape{15, 5});
    CHECK(lstm.to_string() == "LSTMCell(3, 5)");
    CHECK(nn::RNNCell<double>(3, 5, false, nn::Nonlinearity::relu).to_string() ==
          "RNNCell(3, 5, bias=False, nonlinearity=relu)");

    const TensorD x = randn<double>({2, 3}, gen);
    const auto from_zeros = lstm.forward(x);
    const auto explicit_zeros = lstm.forward(x, {zeros<double>({2, 5}), zeros<double>({2, 5})});
    CHECK(from_zeros.h.value() == explicit_zeros.h.value());
    CHECK(from_zeros.c.value() == explicit_zeros.c.value());
  }

  TEST_CASE("cells reject inputs and states of the wrong shape, naming them") {
    nn::LSTMCell<double> lstm(4, 3);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({2, 5})),
                         doctest::Contains("LSTMCell: input has inconsistent input_size: got 5, expected 4"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({4})), doctest::Contains("LSTMCell: expected a 2-D input"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({2, 4}), {zeros<double>({2, 3}), zeros<double>({1, 3})}),
                         doctest::Contains("LSTMCell: cell state c has shape [1, 3], expected [2, 3]"), Error);
    nn::GRUCell<double> gru(4, 3);
    CHECK_THROWS_WITH_AS(gru.forward(zeros<double>({2, 4}), zeros<double>({2, 4})),
                         doctest::Contains("GRUCell: hidden state h has shape [2, 4], expected [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(nn::RNNCell<double>(0, 3), doctest::Contains("RNNCell: input_size must be greater than zero"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::GRUCell<double>(CellWeights<double>{zeros<double>({9, 2}), zeros<double>({9, 4})}),
                         doctest::Contains("GRUCell: weight_hh has shape [9, 4], expected [9, 3]"), Error);
    CHECK_THROWS_WITH_AS(nn::GRUCell<double>(CellWeights<double>{zeros<double>({6, 2}), zeros<double>({9, 3})}),
                         doctest::Contains("GRUCell: weight_ih has shape [6, 2], expected [9, input_size]"), Error);
    CHECK_THROWS_WITH_AS(nn::LSTMCell<double>(CellWeights<double>{zeros<double>({8, 2}), zeros<double>({8, 2}),
                                                                  zeros<double>({8})}),
                         doctest::Contains("LSTMCell: bias_ih and bias_hh must be both given or both undefined"), Error);
  }

  TEST_CASE("default init is U(-1/sqrt(H), 1/sqrt(H)) for every parameter, reproducible from the generator") {
    const std::size_t hidden = 16;
    Generator a(5), b(5);
    nn::GRUCell<double> first(8, hidden, true, a), second(8, hidden, true, b);
    const double bound = 1.0 / std::sqrt(double(hidden));
    for (const auto& [name, p] : first.named_parameters()) {
      CAPTURE(name);
      CHECK(xt::amax(xt::abs(p.value()))() <= bound);
      CHECK(xt::amax(xt::abs(p.value()))() > 0.9 * bound);  // the whole range is used, not a narrower one
      CHECK(p.value() == second.parameter(name).value());
    }
    nn::GRUCell<double> other(8, hidden, true, a);  // the generator moved on
    CHECK_FALSE(other.weight_ih().value() == first.weight_ih().value());
  }

  TEST_CASE("xavier_uniform and orthogonal inits work gate by gate and zero the biases") {
    const std::size_t hidden = 5, input_size = 3;
    Generator gen(9);
    nn::LSTMCell<double> cell(input_size, hidden, true, gen, nn::RecurrentInit::orthogonal);
    for (std::size_t gate = 0; gate < 4; ++gate) {
      const TensorD w_hh = slice(cell.weight_hh(), 0, gate * hidden, (gate + 1) * hidden);
      const TensorD product = matmul(w_hh, w_hh, false, true);  // orthogonal block: W Wᵀ = I
      for (std::size_t i = 0; i < hidden; ++i)
        for (std::size_t j = 0; j < hidden; ++j) CHECK(product.value()(i, j) == doctest::Approx(i == j ? 1.0 : 0.0));
    }
    // Xavier on each [H, I] block: bound sqrt(6 / (I + H)).
    CHECK(xt::amax(xt::abs(cell.weight_ih().value()))() <= std::sqrt(6.0 / double(input_size + hidden)));
    CHECK(xt::all(xt::equal(cell.bias_ih().value(), 0.0)));
    CHECK(xt::all(xt::equal(cell.bias_hh().value(), 0.0)));

    nn::GRUCell<double> xavier(input_size, hidden, true, gen, nn::RecurrentInit::xavier_uniform);
    CHECK(xt::amax(xt::abs(xavier.weight_hh().value()))() <= std::sqrt(6.0 / double(2 * hidden)));
    CHECK(xt::amax(xt::abs(xavier.weight_hh().value()))() > 0.5 * std::sqrt(6.0 / double(2 * hidden)));
    CHECK(xt::all(xt::equal(xavier.bias_ih().value(), 0.0)));
  }
}
