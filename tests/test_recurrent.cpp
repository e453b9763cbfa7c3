// The sequence layers RNN, LSTM, GRU and the generic Recurrent machinery:
// gradient checks of every layer configuration (one table for all layers),
// variable lengths, dropout, unbatched input, shape errors, and a user-defined
// cell (the minimal gated unit of examples/) run through the same machinery.
// Forward values against PyTorch are in test_recurrent_reference.cpp.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

#include "../examples/minimal_gated_unit.hpp"

using namespace rwd;
using nn::RecurrentOptions;

namespace {

// One row of the layer table: how to build the layer (fresh, or around given
// parameters) and run it, returning {output, h_n[, c_n]}.
struct LayerKind {
  const char* name;
  std::size_t states;  // 1, or 2 for the LSTM's (h, c)
  std::function<std::unique_ptr<nn::Recurrent<double>>(const RecurrentOptions&, std::vector<TensorD>, Generator&)> make;
  std::function<std::vector<TensorD>(nn::Recurrent<double>&, const TensorD& x, const std::vector<TensorD>& initial,
                                     const std::vector<std::size_t>& lengths)>
      run;
};

const std::vector<LayerKind>& layer_kinds() {
  static const std::vector<LayerKind> kinds{
      {"RNN", 1,
       [](const RecurrentOptions& o, std::vector<TensorD> p, Generator& g) -> std::unique_ptr<nn::Recurrent<double>> {
         if (p.empty()) return std::make_unique<nn::RNN<double>>(o, g);
         return std::make_unique<nn::RNN<double>>(o, std::move(p), g);
       },
       [](nn::Recurrent<double>& m, const TensorD& x, const std::vector<TensorD>& s, const auto& lengths) {
         auto r = static_cast<nn::RNN<double>&>(m).forward(x, s.empty() ? TensorD() : s[0], lengths);
         return std::vector<TensorD>{r.output, r.h_n};
       }},
      {"LSTM", 2,
       [](const RecurrentOptions& o, std::vector<TensorD> p, Generator& g) -> std::unique_ptr<nn::Recurrent<double>> {
         if (p.empty()) return std::make_unique<nn::LSTM<double>>(o, g);
         return std::make_unique<nn::LSTM<double>>(o, std::move(p), g);
       },
       [](nn::Recurrent<double>& m, const TensorD& x, const std::vector<TensorD>& s, const auto& lengths) {
         auto r = static_cast<nn::LSTM<double>&>(m).forward(x, s.empty() ? TensorD() : s[0],
                                                             s.empty() ? TensorD() : s[1], lengths);
         return std::vector<TensorD>{r.output, r.h_n, r.c_n};
       }},
      {"GRU", 1,
       [](const RecurrentOptions& o, std::vector<TensorD> p, Generator& g) -> std::unique_ptr<nn::Recurrent<double>> {
         if (p.empty()) return std::make_unique<nn::GRU<double>>(o, g);
         return std::make_unique<nn::GRU<double>>(o, std::move(p), g);
       },
       [](nn::Recurrent<double>& m, const TensorD& x, const std::vector<TensorD>& s, const auto& lengths) {
         auto r = static_cast<nn::GRU<double>&>(m).forward(x, s.empty() ? TensorD() : s[0], lengths);
         return std::vector<TensorD>{r.output, r.h_n};
       }},
  };
  return kinds;
}

struct Config {
  const char* label;
  RecurrentOptions options;  // input_size 2, hidden_size 2 are filled in
  std::vector<std::size_t> lengths = {};
  bool initial_state = true;
  bool unbatched = false;
  bool rnn_only = false;  // relu
};

const std::vector<Config>& configs() {
  static const std::vector<Config> list{
      {"one layer", {}},
      {"one layer, zero initial state", {}, {}, false},
      {"two layers", {.num_layers = 2}},
      {"bidirectional", {.bidirectional = true}},
      {"two layers, bidirectional", {.num_layers = 2, .bidirectional = true}},
      {"no bias, two layers", {.num_layers = 2, .bias = false}},
      {"batch_first, bidirectional", {.batch_first = true, .bidirectional = true}},
      {"lengths, two layers, bidirectional", {.num_layers = 2, .bidirectional = true}, {3, 1, 2}},
      {"lengths, batch_first", {.batch_first = true}, {2, 3, 1}},
      {"dropout between two layers (training)", {.num_layers = 2, .dropout = 0.4}},
      {"unbatched, bidirectional", {.bidirectional = true}, {}, true, true},
      {"relu, two layers, bidirectional",
       {.num_layers = 2, .nonlinearity = nn::Nonlinearity::relu, .bidirectional = true}, {}, true, false, true},
  };
  return list;
}

TensorD flatten_all(const std::vector<TensorD>& tensors) {
  std::vector<TensorD> parts;
  for (const auto& t : tensors) parts.push_back(reshape(t, {t.numel()}));
  return concat(parts, 0);
}

// Fresh leaves with the values (and shapes) a freshly initialised layer has.
std::vector<TensorD> fresh_parameters(const LayerKind& kind, const RecurrentOptions& options, Generator& gen) {
  std::vector<TensorD> parameters;
  for (const auto& p : kind.make(options, {}, gen)->parameters()) parameters.push_back(TensorD(p.value(), true));
  return parameters;
}

}  // namespace

TEST_SUITE("recurrent") {
  TEST_CASE("every layer in every configuration is gradient-checked w.r.t. input, initial state and all parameters") {
    const std::size_t steps = 3, batch = 3, input_size = 2, hidden = 2;
    for (const auto& kind : layer_kinds()) {
      for (const auto& config : configs()) {
        if (config.rnn_only && std::string(kind.name) != "RNN") continue;
        CAPTURE(kind.name);
        CAPTURE(config.label);
        RecurrentOptions options = config.options;
        options.input_size = input_size;
        options.hidden_size = hidden;
        const std::size_t rows = options.num_layers * (options.bidirectional ? 2 : 1);
        Generator gen(21);
        // inputs: x, the initial states, then the parameters in named_parameters() order
        Shape x_shape = config.unbatched ? Shape{steps, input_size}
                        : options.batch_first ? Shape{batch, steps, input_size}
                                              : Shape{steps, batch, input_size};
        std::vector<TensorD> inputs{randn<double>(x_shape, gen, true)};
        const std::size_t states = config.initial_state ? kind.states : 0;
        for (std::size_t k = 0; k < states; ++k)
          inputs.push_back(randn<double>(config.unbatched ? Shape{rows, hidden} : Shape{rows, batch, hidden}, gen, true));
        const std::size_t first_parameter = inputs.size();
        for (auto& p : fresh_parameters(kind, options, gen)) inputs.push_back(p);
        auto f = [&](const std::vector<TensorD>& in) {
          Generator dropout_gen(5);  // the same dropout mask at every evaluation
          auto layer = kind.make(options, {in.begin() + static_cast<std::ptrdiff_t>(first_parameter), in.end()},
                                 dropout_gen);
          std::vector<TensorD> initial(in.begin() + 1, in.begin() + static_cast<std::ptrdiff_t>(first_parameter));
          return flatten_all(kind.run(*layer, in[0], initial, config.lengths));
        };
        CHECK_GRAD(f, inputs);
      }
    }
  }

  TEST_CASE("second derivatives through a layer (create_graph) are gradient-checked too") {
    const RecurrentOptions options{.input_size = 2, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
    for (const auto& kind : layer_kinds()) {
      CAPTURE(kind.name);
      Generator gen(17);
      std::vector<TensorD> inputs{randn<double>({3, 2, 2}, gen, true), randn<double>({4, 2, 2}, gen, true)};
      for (auto& p : fresh_parameters(kind, options, gen)) inputs.push_back(p);
      auto f = [&](const std::vector<TensorD>& in) {
        auto layer = kind.make(options, {in.begin() + 2, in.end()}, gen);
        std::vector<TensorD> initial{in[1]};
        if (kind.states == 2) initial.push_back(zeros<double>({4, 2, 2}));
        return flatten_all(kind.run(*layer, in[0], initial, {3, 2}));
      };
      GradcheckOptions fast;
      fast.fast_mode = true;
      CHECK_GRADGRAD(f, inputs, fast);
    }
  }

  TEST_CASE("backward twice over a retained graph accumulates twice the gradient") {
    Generator gen(2);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 3, .bidirectional = true}, gen);
    const TensorD x = randn<double>({4, 2, 2}, gen, true), h0 = randn<double>({2, 2, 3}, gen, true);
    const TensorD loss = sum(lstm.forward(x, h0).output);
    loss.backward(/*retain_graph=*/true);
    const xt::xarray<double> once_x = x.grad().value(), once_h0 = h0.grad().value();
    const xt::xarray<double> once_w = lstm.parameter("weight_ih_l0").grad().value();
    loss.backward();
    CHECK(xt::allclose(x.grad().value(), 2.0 * once_x));
    CHECK(xt::allclose(h0.grad().value(), 2.0 * once_h0));
    CHECK(xt::allclose(lstm.parameter("weight_ih_l0").grad().value(), 2.0 * once_w));
  }

  TEST_CASE("parameters are named, shaped and ordered as PyTorch's") {
    nn::LSTM<float> lstm({.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true});
    // torch.nn.LSTM(3, 2, num_layers=2, bidirectional=True).named_parameters()
    // (also compared against torch's own list in test_recurrent_reference.cpp)
    const std::vector<std::pair<std::string, Shape>> expected{
        {"weight_ih_l0", {8, 3}},         {"weight_hh_l0", {8, 2}},         {"bias_ih_l0", {8}},
        {"bias_hh_l0", {8}},              {"weight_ih_l0_reverse", {8, 3}}, {"weight_hh_l0_reverse", {8, 2}},
        {"bias_ih_l0_reverse", {8}},      {"bias_hh_l0_reverse", {8}},      {"weight_ih_l1", {8, 4}},
        {"weight_hh_l1", {8, 2}},         {"bias_ih_l1", {8}},              {"bias_hh_l1", {8}},
        {"weight_ih_l1_reverse", {8, 4}}, {"weight_hh_l1_reverse", {8, 2}}, {"bias_ih_l1_reverse", {8}},
        {"bias_hh_l1_reverse", {8}}};
    const auto named = lstm.named_parameters();
    REQUIRE(named.size() == expected.size());
    for (std::size_t i = 0; i < named.size(); ++i) {
      CHECK(named[i].first == expected[i].first);
      CHECK(named[i].second.shape() == expected[i].second);
    }
    // The layer's parameters are its cells' (one node, not a copy).
    CHECK(lstm.parameter("weight_hh_l1_reverse").id() ==
          dynamic_cast<const nn::LSTMCell<float>&>(lstm.cell(1, true)).weight_hh().id());
    nn::GRU<double> gru({.input_size = 3, .hidden_size = 4, .bias = false});
    CHECK(gru.named_parameters().size() == 2);
    CHECK(gru.parameter("weight_hh_l0").shape() == Shape{12, 4});
    CHECK(lstm.to_string() == "LSTM(3, 2, num_layers=2, bidirectional=True)");
    CHECK(nn::RNN<double>({.input_size = 3, .hidden_size = 2, .num_layers = 2, .nonlinearity = nn::Nonlinearity::relu,
                           .bias = false, .batch_first = true, .dropout = 0.5})
              .to_string() == "RNN(3, 2, num_layers=2, bias=False, batch_first=True, dropout=0.5, nonlinearity=relu)");
  }

  TEST_CASE("a padded sequence gives what it gives alone, and its padding gets no gradient") {
    const std::size_t steps = 4, batch = 3, input_size = 2, hidden = 3;
    const std::vector<std::size_t> lengths{4, 2, 3};
    for (const auto& kind : layer_kinds()) {
      CAPTURE(kind.name);
      const RecurrentOptions options{
          .input_size = input_size, .hidden_size = hidden, .num_layers = 2, .bidirectional = true};
      Generator gen(3);
      auto layer = kind.make(options, {}, gen);
      const TensorD x = randn<double>({steps, batch, input_size}, gen, true);
      std::vector<TensorD> initial;
      for (std::size_t k = 0; k < kind.states; ++k) initial.push_back(randn<double>({4, batch, hidden}, gen, true));
      // loss = Σ R ⊙ output + Σ S_k ⊙ final_k, random weights R, S
      const auto padded = kind.run(*layer, x, initial, lengths);
      std::vector<TensorD> weights;
      for (const auto& t : padded) weights.push_back(randn<double>(t.shape(), gen));
      TensorD loss = TensorD::scalar(0);
      for (std::size_t i = 0; i < padded.size(); ++i) loss = loss + sum(padded[i] * weights[i]);
      loss.backward();
      const auto x_grad = x.grad().value();
      std::vector<xt::xarray<double>> parameter_grads;
      for (auto& p : layer->parameters()) {
        parameter_grads.push_back(p.grad().value());
        p.zero_grad();
      }
      std::vector<xt::xarray<double>> summed(parameter_grads.size());  // Σ_b of the per-sequence gradients

      for (std::size_t b = 0; b < batch; ++b) {
        CAPTURE(b);
        const std::size_t n = lengths[b];
        const TensorD x_alone = TensorD(xt::xarray<double>(slice(slice(x, 1, b, b + 1), 0, 0, n).value()), true);
        std::vector<TensorD> initial_alone;
        for (const auto& s : initial) initial_alone.push_back(slice(s, 1, b, b + 1).detach());
        const auto alone = kind.run(*layer, x_alone, initial_alone, {});
        // Same values: the valid outputs, zeros past the end, and the final states.
        const auto out_b = slice(padded[0], 1, b, b + 1);
        CHECK(xt::allclose(slice(out_b, 0, 0, n).value(), alone[0].value(), 1e-13, 1e-14));
        if (n < steps) CHECK(xt::all(xt::equal(slice(out_b, 0, n, steps).value(), 0.0)));
        for (std::size_t k = 1; k < padded.size(); ++k)
          CHECK(xt::allclose(slice(padded[k], 1, b, b + 1).value(), alone[k].value(), 1e-13, 1e-14));
        // Same gradients: the sequence's own share of the loss.
        TensorD loss_b = sum(alone[0] * slice(slice(weights[0], 1, b, b + 1), 0, 0, n));
        for (std::size_t k = 1; k < padded.size(); ++k) loss_b = loss_b + sum(alone[k] * slice(weights[k], 1, b, b + 1));
        loss_b.backward();
        const xt::xarray<double> grad_b = xt::view(x_grad, xt::all(), xt::range(b, b + 1), xt::all());
        CHECK(xt::allclose(xt::view(grad_b, xt::range(0, n)), x_alone.grad().value(), 1e-12, 1e-13));
        if (n < steps) CHECK(xt::all(xt::equal(xt::view(grad_b, xt::range(n, steps)), 0.0)));
        auto params = layer->parameters();
        for (std::size_t i = 0; i < params.size(); ++i) {
          summed[i] = b == 0 ? xt::xarray<double>(params[i].grad().value())
                                            : xt::xarray<double>(summed[i] + params[i].grad().value());
          params[i].zero_grad();
        }
      }
      // The batch's parameter gradients are the sum of the sequences'.
      for (std::size_t i = 0; i < summed.size(); ++i) CHECK(xt::allclose(parameter_grads[i], summed[i], 1e-12, 1e-13));
    }
  }

  TEST_CASE("what sits in the padding does not matter") {
    const std::vector<std::size_t> lengths{1, 3};
    Generator gen(8);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 2, .bidirectional = true}, gen);
    const TensorD x = randn<double>({3, 2, 2}, gen);
    xt::xarray<double> other = x.value();
    xt::view(other, xt::range(1, 3), 0, xt::all()) = 100.0;  // sequence 0's padding
    const auto a = lstm.forward(x, {}, {}, lengths), b = lstm.forward(TensorD(other), {}, {}, lengths);
    CHECK(a.output.value() == b.output.value());
    CHECK(a.h_n.value() == b.h_n.value());
    CHECK(a.c_n.value() == b.c_n.value());
  }

  TEST_CASE("dropout acts between layers in training mode only") {
    const RecurrentOptions options{.input_size = 2, .hidden_size = 3, .num_layers = 2, .dropout = 0.5};
    Generator gen(4);
    const TensorD x = randn<double>({4, 2, 2}, gen);
    const auto parameters = fresh_parameters(layer_kinds()[2], options, gen);
    Generator g1(1), g2(1), g3(1);
    nn::GRU<double> with_dropout(options, parameters, g1), same_seed(options, parameters, g2);
    RecurrentOptions no_dropout_options = options;
    no_dropout_options.dropout = 0;
    nn::GRU<double> no_dropout(no_dropout_options, parameters, g3);
    const auto trained = with_dropout.forward(x);
    CHECK(trained.output.value() == same_seed.forward(x).output.value());        // masks come from the generator
    CHECK_FALSE(xt::allclose(trained.output.value(), no_dropout.forward(x).output.value()));
    with_dropout.eval();
    CHECK(with_dropout.forward(x).output.value() == no_dropout.forward(x).output.value());  // eval: identity
    // p = 1 drops everything: layer 1 sees zeros, whatever x is.
    RecurrentOptions all_dropped = options;
    all_dropped.dropout = 1;
    nn::GRU<double> dropped(all_dropped, parameters, g1);
    CHECK(dropped.forward(x).output.value() == dropped.forward(randn<double>({4, 2, 2}, gen)).output.value());
  }

  TEST_CASE("an unbatched sequence [T, I] gives the batch-of-one result without the batch axis") {
    Generator gen(6);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 3, .num_layers = 2, .batch_first = true}, gen);
    const TensorD x = randn<double>({5, 2}, gen), h0 = randn<double>({2, 3}, gen), c0 = randn<double>({2, 3}, gen);
    const auto single = lstm.forward(x, h0, c0);
    const auto batched = lstm.forward(unsqueeze(x, 0), unsqueeze(h0, 1), unsqueeze(c0, 1));
    CHECK(single.output.shape() == Shape{5, 3});
    CHECK(single.output.value() == squeeze(batched.output, 0).value());
    CHECK(single.h_n.value() == squeeze(batched.h_n, 1).value());
    CHECK(single.c_n.value() == squeeze(batched.c_n, 1).value());
  }

  TEST_CASE("bad shapes and options throw, naming the layer and the shapes") {
    nn::LSTM<double> lstm({.input_size = 4, .hidden_size = 3, .num_layers = 2});
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 5})),
                         doctest::Contains("LSTM: input has inconsistent input_size: got 5, expected 4"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 1, 4})), doctest::Contains("LSTM: expected a 3-D input"),
                         Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 4}), zeros<double>({1, 2, 3})),
                         doctest::Contains("LSTM: h0 has shape [1, 2, 3], expected [2, 2, 3]"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 4}), zeros<double>({2, 2, 3}), zeros<double>({2, 3, 3})),
                         doctest::Contains("LSTM: c0 has shape [2, 3, 3], expected [2, 2, 3]"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 4}), {}, {}, {6}),
                         doctest::Contains("LSTM: lengths has 1 entries, expected one per sequence in the batch (2)"),
                         Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 4}), {}, {}, {6, 7}),
                         doctest::Contains("LSTM: lengths[1] = 7 is out of range [1, 6]"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({6, 2, 4}), {}, {}, {0, 2}),
                         doctest::Contains("LSTM: lengths[0] = 0 is out of range"), Error);
    CHECK_THROWS_WITH_AS(lstm.forward(zeros<double>({0, 2, 4})), doctest::Contains("no time steps"), Error);
    CHECK_THROWS_WITH_AS(nn::GRU<double>({.input_size = 4, .hidden_size = 0}),
                         doctest::Contains("GRU: hidden_size must be greater than zero"), Error);
    CHECK_THROWS_WITH_AS(nn::RNN<double>({.input_size = 4, .hidden_size = 2, .num_layers = 0}),
                         doctest::Contains("RNN: num_layers must be greater than zero"), Error);
    CHECK_THROWS_WITH_AS(nn::RNN<double>({.input_size = 4, .hidden_size = 2, .dropout = 1.5}),
                         doctest::Contains("RNN: dropout should be a number in range [0, 1]"), Error);
    CHECK_THROWS_WITH_AS(nn::LSTM<double>({.input_size = 4, .hidden_size = 2, .nonlinearity = nn::Nonlinearity::relu}),
                         doctest::Contains("LSTM: nonlinearity is an RNN option, got relu"), Error);
    const RecurrentOptions small{.input_size = 2, .hidden_size = 2};
    CHECK_THROWS_WITH_AS(nn::GRU<double>(small, std::vector<TensorD>{zeros<double>({6, 2})}),
                         doctest::Contains("GRU: got 1 parameters, expected 4"), Error);
    CHECK_THROWS_WITH_AS(nn::GRU<double>(small, {zeros<double>({6, 2}), zeros<double>({6, 3}), zeros<double>({6}),
                                                 zeros<double>({6})}),
                         doctest::Contains("GRU: parameter 1 (weight_hh_l0) has shape [6, 3], expected [6, 2]"), Error);
    CHECK_THROWS_WITH_AS(lstm.cell(2), doctest::Contains("LSTM: no cell for layer 2"), Error);
  }

  TEST_CASE("a user-defined cell (minimal gated unit) runs through the same machinery, gradient-checked") {
    const std::size_t steps = 3, batch = 2, input_size = 2, hidden = 2;
    const RecurrentOptions options{.input_size = input_size, .hidden_size = hidden, .num_layers = 2,
                                   .bidirectional = true};
    Generator gen(13);
    // Each cell from the parameters of a freshly drawn one, in order.
    std::vector<TensorD> inputs{randn<double>({steps, batch, input_size}, gen, true),
                                randn<double>({4, batch, hidden}, gen, true)};
    nn::Recurrent<double> fresh(options,
                                [&](std::size_t in) { return std::make_shared<MinimalGatedUnit<double>>(in, hidden, gen); });
    CHECK(fresh.named_parameters()[0].first == "cell_l0.weight_ih");
    CHECK(fresh.named_parameters().back().first == "cell_l1_reverse.weight_hh");
    for (const auto& p : fresh.parameters()) inputs.push_back(TensorD(p.value(), true));
    const std::vector<std::size_t> lengths{3, 2};
    auto f = [&](const std::vector<TensorD>& in) {
      std::size_t next = 2;
      nn::Recurrent<double> model(options, [&](std::size_t) {
        next += 4;
        return std::make_shared<MinimalGatedUnit<double>>(in[next - 4], in[next - 3], in[next - 2], in[next - 1]);
      });
      auto result = model.forward(in[0], {in[1]}, lengths);
      return flatten_all({result.output, result.final_state[0]});
    };
    CHECK_GRAD(f, inputs);
  }

  TEST_CASE("an exception in a cell's step names the layer, direction and time step, and keeps its text") {
    // p = x[..., :3], h' = tanh(p + h); the cell marked `fails` calls matmul
    // with mismatched shapes on its 4th call (call 3), i.e. at t = 3 forward
    // and t = T - 1 - 3 in reverse.
    struct FailsAtCall3 : nn::RecurrentCell<double> {
      std::size_t in = 3;
      bool fails = false;
      mutable std::size_t calls = 0;
      std::string type_name() const override { return "FailsAtCall3"; }
      std::size_t input_size() const override { return in; }
      TensorD project_input(const TensorD& x) const override { return slice(x, -1, 0, 3); }
      std::size_t hidden_size() const override { return 3; }
      RecurrentState<double> step(const TensorD& p, const RecurrentState<double>& state) const override {
        if (fails && calls++ == 3) return {matmul(p, zeros<double>({2, 4}))};
        return {tanh(p + state[0])};
      }
    };
    const std::string matmul_text = "matmul: inner dimensions differ: [5, 3] x [2, 4]";
    CHECK_THROWS_WITH_AS(matmul(zeros<double>({5, 3}), zeros<double>({2, 4})), doctest::Contains(matmul_text.c_str()), Error);
    const auto model_failing_at = [](std::size_t failing, const nn::RecurrentOptions& options) {
      std::size_t made = 0;
      return nn::Recurrent<double>(options, [&](std::size_t in) {
        auto cell = std::make_shared<FailsAtCall3>();
        cell->in = in;
        cell->fails = made++ == failing;
        return cell;
      });
    };
    const TensorD x = zeros<double>({6, 5, 3});  // T = 6, B = 5
    const nn::RecurrentOptions two_bidir{.input_size = 3, .hidden_size = 3, .num_layers = 2, .bidirectional = true};
    const std::string prefix = "Recurrent: in the cell's step at layer ";
    // Cells in order: layer 0 forward, layer 0 reverse, layer 1 forward, layer 1 reverse.
    auto layer0 = model_failing_at(0, two_bidir);
    CHECK_THROWS_WITH_AS(layer0.forward(x), (prefix + "0, forward direction, time step 3 (of 0..5): " + matmul_text).c_str(),
                         Error);
    auto layer1_reverse = model_failing_at(3, two_bidir);
    CHECK_THROWS_WITH_AS(layer1_reverse.forward(x),
                         (prefix + "1, reverse direction, time step 2 (of 0..5): " + matmul_text).c_str(), Error);
    // Checkpointed in segments of 2 steps: t still counts from the sequence's start.
    nn::RecurrentOptions segments = two_bidir;
    segments.checkpoint_segment = 2;
    auto checkpointed = model_failing_at(1, segments);
    CHECK_THROWS_WITH_AS(checkpointed.forward(x),
                         (prefix + "0, reverse direction, time step 2 (of 0..5): " + matmul_text).c_str(), Error);
    auto with_lengths = model_failing_at(2, two_bidir);
    CHECK_THROWS_WITH_AS(with_lengths.forward(x, {}, {6, 4, 4, 2, 1}),
                         (prefix + "1, forward direction, time step 3 (of 0..5): " + matmul_text).c_str(), Error);
  }

  TEST_CASE("a user cell whose step returns the wrong state is reported once, by shape") {
    struct Broken : nn::RecurrentCell<double> {
      std::string type_name() const override { return "Broken"; }
      std::size_t input_size() const override { return 2; }
      std::size_t hidden_size() const override { return 3; }
      RecurrentState<double> step(const TensorD& p, const RecurrentState<double>&) const override { return {p}; }
    };
    nn::Recurrent<double> model({.input_size = 2, .hidden_size = 3}, [](std::size_t) { return std::make_shared<Broken>(); });
    CHECK_THROWS_WITH_AS(model.forward(zeros<double>({4, 5, 2})),
                         doctest::Contains("Recurrent: the cell's step returned a state of shapes {[5, 2]}, expected {[5, 3]}"),
                         Error);
    CHECK_THROWS_WITH_AS(nn::Recurrent<double>({.input_size = 2, .hidden_size = 4},
                                               [](std::size_t) { return std::make_shared<Broken>(); }),
                         doctest::Contains("Recurrent: the cell of layer 0 has hidden_size 3, expected 4"), Error);
  }
}
