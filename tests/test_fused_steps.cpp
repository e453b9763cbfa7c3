// The fused step nodes of the built-in cells (nn/fused_steps.hpp) against the
// generic unroll, which records every step op by op from the cell equations
// (RecurrentOptions::fused = false): same parameters, same input, the outputs,
// final states and every gradient must agree to rounding. The generic path is
// itself gradient-checked in test_recurrent.cpp, and so is the fused one there
// (its configurations without lengths run fused by default); here the two are
// compared directly, including the edge cases of the fused backward: frozen
// weights, grad() instead of backward(), a pass aborted half way, retained
// graphs, variable lengths, checkpointing, second derivatives (create_graph)
// and per-step gradients.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include <xtensor/xmath.hpp>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;
using nn::RecurrentOptions;

namespace {

struct Kind {
  const char* name;
  std::size_t states;  // 2 for the LSTM's (h, c)
  nn::Nonlinearity nonlinearity = nn::Nonlinearity::tanh;
};

const Kind kinds[] = {{"RNN tanh", 1}, {"RNN relu", 1, nn::Nonlinearity::relu}, {"LSTM", 2}, {"GRU", 1}};

std::unique_ptr<nn::Recurrent<double>> make(const Kind& kind, RecurrentOptions options,
                                            const std::vector<TensorD>& parameters, Generator& gen) {
  options.nonlinearity = kind.nonlinearity;
  if (kind.states == 2) return std::make_unique<nn::LSTM<double>>(options, parameters, gen);
  if (std::string(kind.name) == "GRU") return std::make_unique<nn::GRU<double>>(options, parameters, gen);
  return std::make_unique<nn::RNN<double>>(options, parameters, gen);
}

std::vector<TensorD> fresh_parameters(const Kind& kind, RecurrentOptions options, Generator& gen) {
  options.nonlinearity = kind.nonlinearity;
  std::unique_ptr<nn::Recurrent<double>> layer;
  if (kind.states == 2)
    layer = std::make_unique<nn::LSTM<double>>(options, gen);
  else if (std::string(kind.name) == "GRU")
    layer = std::make_unique<nn::GRU<double>>(options, gen);
  else
    layer = std::make_unique<nn::RNN<double>>(options, gen);
  std::vector<TensorD> parameters;
  for (const auto& p : layer->parameters()) parameters.push_back(TensorD(p.value(), true));
  return parameters;
}

// Everything one run produces: output, final state, and the gradients of a
// loss that weighs each of them by fixed random factors (the first
// weights.size() of them: the rest do not enter the loss).
struct Run {
  std::vector<TensorD> values;
  std::vector<TensorD> grads;  // x, each initial state, each parameter (undefined where none)
};

Run run(const Kind& kind, RecurrentOptions options, bool fused, const TensorD& x, const std::vector<TensorD>& initial,
        const std::vector<TensorD>& parameters, const std::vector<TensorD>& weights,
        const std::vector<std::size_t>& lengths = {}) {
  options.fused = fused;
  Generator gen(0);
  std::vector<TensorD> leaves{TensorD(x.value(), x.requires_grad())};
  for (const auto& s : initial) leaves.push_back(TensorD(s.value(), s.requires_grad()));
  std::vector<TensorD> own;
  for (const auto& p : parameters) own.push_back(TensorD(p.value(), p.requires_grad()));
  auto layer = make(kind, options, own, gen);
  // Registering makes a parameter trainable (as nn.Parameter does); freeze the ones given frozen.
  for (std::size_t k = 0; k < own.size(); ++k) own[k].requires_grad_(parameters[k].requires_grad());
  auto result = layer->forward(leaves[0], {leaves.begin() + 1, leaves.end()}, lengths);
  Run out;
  out.values.push_back(result.output);
  for (auto& s : result.final_state) out.values.push_back(s);
  TensorD loss = TensorD::scalar(0);
  for (std::size_t k = 0; k < out.values.size() && k < weights.size(); ++k) loss = loss + sum(out.values[k] * weights[k]);
  loss.backward();
  for (const auto& leaf : leaves) out.grads.push_back(leaf.grad());
  for (const auto& p : own) out.grads.push_back(p.grad());
  return out;
}

void check_close(const TensorD& a, const TensorD& b, const std::string& what) {
  CAPTURE(what);
  REQUIRE(a.defined() == b.defined());
  if (!a.defined()) return;
  REQUIRE(a.shape() == b.shape());
  const double scale = 1 + xt::amax(xt::abs(b.value()))();
  CHECK(xt::amax(xt::abs(a.value() - b.value()))() <= 1e-12 * scale);
}

void check_same(const Run& fused, const Run& generic) {
  REQUIRE(fused.values.size() == generic.values.size());
  for (std::size_t k = 0; k < fused.values.size(); ++k)
    check_close(fused.values[k], generic.values[k], "value " + std::to_string(k));
  REQUIRE(fused.grads.size() == generic.grads.size());
  for (std::size_t k = 0; k < fused.grads.size(); ++k)
    check_close(fused.grads[k], generic.grads[k], "gradient " + std::to_string(k));
}

struct Setup {
  TensorD x;
  std::vector<TensorD> initial, parameters, weights;
};

// x [T=4, B=3, I=3], H = 2 (LSTM/GRU gates 2·H wide), random initial states.
Setup setup(const Kind& kind, const RecurrentOptions& options, Generator& gen, bool with_initial = true) {
  Setup s;
  s.x = randn<double>({4, 3, options.input_size}, gen, true);
  const std::size_t rows = options.num_layers * (options.bidirectional ? 2 : 1);
  if (with_initial)
    for (std::size_t k = 0; k < kind.states; ++k) s.initial.push_back(randn<double>({rows, 3, 2}, gen, true));
  s.parameters = fresh_parameters(kind, options, gen);
  s.weights.push_back(randn<double>({4, 3, (options.bidirectional ? 2 : 1) * options.hidden_size}, gen));
  for (std::size_t k = 0; k < kind.states; ++k) s.weights.push_back(randn<double>({rows, 3, 2}, gen));
  return s;
}

}  // namespace

TEST_SUITE("fused_steps") {
  TEST_CASE("fused steps give the generic unroll's outputs and gradients") {
    const RecurrentOptions configurations[] = {
        {.input_size = 3, .hidden_size = 2},
        {.input_size = 3, .hidden_size = 2, .num_layers = 2},
        {.input_size = 3, .hidden_size = 2, .bidirectional = true},
        {.input_size = 3, .hidden_size = 2, .num_layers = 2, .bias = false, .bidirectional = true},
    };
    for (const auto& kind : kinds)
      for (const auto& options : configurations)
        for (bool with_initial : {true, false}) {
          CAPTURE(kind.name);
          CAPTURE(options.num_layers);
          CAPTURE(options.bidirectional);
          CAPTURE(with_initial);
          Generator gen(11);
          const Setup s = setup(kind, options, gen, with_initial);
          check_same(run(kind, options, true, s.x, s.initial, s.parameters, s.weights),
                     run(kind, options, false, s.x, s.initial, s.parameters, s.weights));
        }
  }

  TEST_CASE("frozen weights: only the initial state wants a gradient") {
    const RecurrentOptions options{.input_size = 3, .hidden_size = 2, .num_layers = 2};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(12);
      Setup s = setup(kind, options, gen);
      s.x = TensorD(s.x.value());
      for (auto& p : s.parameters) p = TensorD(p.value());
      check_same(run(kind, options, true, s.x, s.initial, s.parameters, s.weights),
                 run(kind, options, false, s.x, s.initial, s.parameters, s.weights));
    }
  }

  // dL/dW_hh is summed over time by one GEMM after the last step's backward, from
  // δ rows kept in dL/dP's buffer, or (when P needs no gradient, as here) in a
  // buffer of their own: both ways must equal the generic unroll.
  TEST_CASE("only weight_hh trains: its deferred whole-sequence gradient equals the generic one") {
    const RecurrentOptions options{.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(13);
      Setup s = setup(kind, options, gen, /*with_initial=*/false);
      s.x = TensorD(s.x.value());
      auto layer = make(kind, options, s.parameters, gen);
      const auto named = layer->named_parameters();
      REQUIRE(named.size() == s.parameters.size());
      std::size_t trained = 0;
      for (std::size_t k = 0; k < named.size(); ++k)
        if (named[k].first.rfind("weight_hh", 0) == 0)
          ++trained;
        else
          s.parameters[k] = TensorD(s.parameters[k].value());
      REQUIRE(trained == 4);  // 2 layers x 2 directions
      const Run fused = run(kind, options, true, s.x, s.initial, s.parameters, s.weights);
      check_same(fused, run(kind, options, false, s.x, s.initial, s.parameters, s.weights));
      std::size_t with_gradient = 0;
      for (const auto& g : fused.grads) with_gradient += g.defined() ? 1 : 0;
      CHECK(with_gradient == trained);
    }
  }

  TEST_CASE("a fused unroll given an input of the wrong width says which shape it expected") {
    Generator gen(14);
    const nn::RNNCell<double> cell(3, 2, true, nn::Nonlinearity::tanh, gen);
    const TensorD input = randn<double>({4, 3, 5}, gen, true);  // I = 5, the cell takes 3
    CHECK_THROWS_WITH_AS(cell.fused_unroll(input, {zeros<double>({3, 2})}, false, {}),
                         "rnn_tanh_step: input [4, 3, 5] is not [T, 3, 3]", Error);
  }

  TEST_CASE("fused layers pass gradcheck w.r.t. input, initial state and parameters") {
    const RecurrentOptions options{.input_size = 2, .hidden_size = 2, .bidirectional = true};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(13);
      std::vector<TensorD> inputs{randn<double>({3, 2, 2}, gen, true), randn<double>({2, 2, 2}, gen, true)};
      if (kind.states == 2) inputs.push_back(randn<double>({2, 2, 2}, gen, true));
      for (auto& p : fresh_parameters(kind, options, gen)) inputs.push_back(p);
      const std::size_t first_parameter = 1 + kind.states;
      auto f = [&](const std::vector<TensorD>& in) {
        Generator unused(0);
        auto layer = make(kind, options, {in.begin() + first_parameter, in.end()}, unused);
        auto r = layer->forward(in[0], {in.begin() + 1, in.begin() + first_parameter});
        std::vector<TensorD> parts{reshape(r.output, {r.output.numel()})};
        for (auto& state : r.final_state) parts.push_back(reshape(state, {state.numel()}));
        return concat(parts, 0);
      };
      CHECK_GRAD(f, inputs);
    }
  }

  TEST_CASE("grad() w.r.t. the weights equals what backward() accumulates") {
    const RecurrentOptions options{.input_size = 3, .hidden_size = 2};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(14);
      const Setup s = setup(kind, options, gen);
      auto layer = make(kind, options, s.parameters, gen);
      const TensorD loss = sum(layer->forward(s.x, s.initial).output * s.weights[0]);
      const auto grads = grad<double>({loss}, s.parameters, {}, /*retain_graph=*/true);
      loss.backward();
      for (std::size_t k = 0; k < s.parameters.size(); ++k)
        check_close(grads[k], s.parameters[k].grad(), "parameter " + std::to_string(k));
    }
  }

  TEST_CASE("a backward pass aborted half way leaves nothing behind for the next") {
    // A NaN in the seed at step 1's rows makes anomaly mode stop the pass at
    // the step that reads it, after the later steps have written their share
    // of dL/dW_hh; the next pass must start from zero again.
    const RecurrentOptions options{.input_size = 3, .hidden_size = 2};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(15);
      const Setup s = setup(kind, options, gen);
      auto layer = make(kind, options, s.parameters, gen);
      const TensorD output = layer->forward(s.x, s.initial).output;
      xt::xarray<double> poisoned = s.weights[0].value();
      poisoned(1, 0, 0) = std::nan("");
      {
        DetectAnomalyGuard anomaly;
        CHECK_THROWS_AS(output.backward(TensorD(poisoned), /*retain_graph=*/true), Error);
      }
      for (auto p : s.parameters) p.zero_grad();
      output.backward(s.weights[0]);
      const Run reference = run(kind, options, false, s.x, s.initial, s.parameters, {s.weights[0]});
      for (std::size_t k = 0; k < s.parameters.size(); ++k)
        check_close(s.parameters[k].grad(), reference.grads[1 + kind.states + k], "parameter " + std::to_string(k));
    }
  }

  TEST_CASE("backward twice over a retained graph accumulates twice") {
    const RecurrentOptions options{.input_size = 3, .hidden_size = 2, .bidirectional = true};
    for (const auto& kind : kinds) {
      CAPTURE(kind.name);
      Generator gen(17);
      const Setup s = setup(kind, options, gen);
      auto layer = make(kind, options, s.parameters, gen);
      const auto result = layer->forward(s.x, s.initial);
      const TensorD loss = sum(result.output * s.weights[0]) + sum(result.final_state[0] * s.weights[1]);
      loss.backward(/*retain_graph=*/true);
      std::vector<xt::xarray<double>> once;
      for (const auto& p : s.parameters) once.push_back(p.grad().value());
      loss.backward();
      for (std::size_t k = 0; k < s.parameters.size(); ++k)
        check_close(s.parameters[k].grad(), TensorD(xt::xarray<double>(2.0 * once[k])), "parameter " + std::to_string(k));
    }
  }

  TEST_CASE("variable lengths and checkpointing run fused, with the generic unroll's values and gradients") {
    const RecurrentOptions base{.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
    const std::vector<std::vector<std::size_t>> all_lengths{{}, {4, 2, 3}, {1, 4, 1}};
    for (const auto& kind : kinds)
      for (std::size_t segment : {0, 1, 3})
        for (const auto& lengths : all_lengths) {
          CAPTURE(kind.name);
          CAPTURE(segment);
          CAPTURE(lengths.size());
          RecurrentOptions options = base;
          options.checkpoint_segment = segment;
          Generator gen(18);
          const Setup s = setup(kind, options, gen);
          const Run fused = run(kind, options, true, s.x, s.initial, s.parameters, s.weights, lengths);
          check_same(fused, run(kind, options, false, s.x, s.initial, s.parameters, s.weights, lengths));
          options.checkpoint_segment = 0;  // and the plain generic unroll
          check_same(fused, run(kind, options, false, s.x, s.initial, s.parameters, s.weights, lengths));
        }
  }

  // Second derivatives: the gradient of ⟨∇L, v⟩ w.r.t. everything, through
  // fused steps (whose backward re-runs the cell as ops under create_graph)
  // and through the generic unroll.
  TEST_CASE("create_graph through fused steps: second derivatives equal the generic unroll's") {
    const RecurrentOptions base{.input_size = 2, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
    for (const auto& kind : kinds)
      for (std::size_t segment : {0, 2})
        for (bool with_lengths : {false, true}) {
          CAPTURE(kind.name);
          CAPTURE(segment);
          CAPTURE(with_lengths);
          RecurrentOptions options = base;
          options.checkpoint_segment = segment;
          Generator gen(19);
          const Setup s = setup(kind, options, gen);
          const std::vector<std::size_t> lengths = with_lengths ? std::vector<std::size_t>{4, 2, 3} : std::vector<std::size_t>{};
          auto second = [&](bool fused) {
            RecurrentOptions o = options;
            o.fused = fused;
            Generator unused(0);
            std::vector<TensorD> leaves{TensorD(s.x.value(), true)};
            for (const auto& h : s.initial) leaves.push_back(TensorD(h.value(), true));
            std::vector<TensorD> own;
            for (const auto& p : s.parameters) own.push_back(TensorD(p.value(), true));
            auto layer = make(kind, o, own, unused);
            auto result = layer->forward(leaves[0], {leaves.begin() + 1, leaves.end()}, lengths);
            TensorD loss = sum(tanh(result.output) * s.weights[0]) + sum(result.final_state[0] * s.weights[1]);
            std::vector<TensorD> wrt = leaves;
            wrt.insert(wrt.end(), own.begin(), own.end());
            const auto first = grad<double>({loss}, wrt, {}, /*retain_graph=*/false, /*create_graph=*/true);
            Generator directions(20);
            TensorD projected = TensorD::scalar(0);
            for (const auto& g : first) projected = projected + sum(g * randn<double>(g.shape(), directions));
            std::vector<TensorD> out = grad<double>({projected}, wrt, {}, false, false, /*allow_unused=*/true);
            out.insert(out.end(), first.begin(), first.end());
            return out;
          };
          const auto fused = second(true), generic = second(false);
          REQUIRE(fused.size() == generic.size());
          for (std::size_t k = 0; k < fused.size(); ++k) check_close(fused[k].detach(), generic[k].detach(), "second-order term " + std::to_string(k));
        }
  }

  TEST_CASE("retain_step_grads: dL/dh_t and dL/dc_t of every step, fused and generic alike") {
    const RecurrentOptions base{.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true};
    for (const auto& kind : kinds)
      for (bool with_lengths : {false, true})
      for (bool create_graph : {false, true}) {  // the fused backward then runs as ops: the totals must not change
        CAPTURE(kind.name);
        CAPTURE(with_lengths);
        CAPTURE(create_graph);
        Generator gen(21);
        const Setup s = setup(kind, base, gen);
        const std::vector<std::size_t> lengths = with_lengths ? std::vector<std::size_t>{4, 2, 3} : std::vector<std::size_t>{};
        std::vector<nn::StepGradients<double>> per_path[2];
        for (bool fused : {true, false}) {
          RecurrentOptions options = base;
          options.fused = fused;
          options.retain_step_grads = true;
          auto layer = make(kind, options, s.parameters, gen);
          auto result = layer->forward(s.x, s.initial, lengths);
          (sum(result.output * s.weights[0]) + sum(result.final_state[0] * s.weights[1]))
              .backward(/*retain_graph=*/false, create_graph);
          for (std::size_t layer_index = 0; layer_index < 2; ++layer_index)
            for (bool reverse : {false, true}) per_path[fused ? 0 : 1].push_back(layer->step_gradients(layer_index, reverse));
        }
        for (std::size_t k = 0; k < 4; ++k) {
          const auto &fused = per_path[0][k], &generic = per_path[1][k];
          REQUIRE(fused.h.size() == 4);
          REQUIRE(generic.h.size() == 4);
          CHECK(fused.c.size() == (kind.states == 2 ? 4u : 0u));
          REQUIRE(fused.c.size() == generic.c.size());
          for (std::size_t t = 0; t < 4; ++t) {
            check_close(fused.h[t], generic.h[t], "dL/dh_t, t = " + std::to_string(t));
            if (!fused.c.empty()) check_close(fused.c[t], generic.c[t], "dL/dc_t, t = " + std::to_string(t));
            if (with_lengths && t >= 2)  // sequence 1 (length 2) is padded there
              CHECK((fused.h[t].value()(1, 0) == 0.0 && fused.h[t].value()(1, 1) == 0.0));
          }
          // The last layer's dL/dh_t includes the output's own weight: never all zero.
          CHECK(xt::amax(xt::abs(fused.h[0].value()))() > 0.0);
        }
        // Under create_graph each leaf's .grad is a graph holding the leaf (as in
        // PyTorch): drop them, or the cycle outlives the test.
        for (TensorD leaf : s.parameters) leaf.zero_grad();
        for (TensorD leaf : s.initial) leaf.zero_grad();
        TensorD(s.x).zero_grad();
      }
  }

  // A pass that begins at a step's own node runs only that step and the earlier
  // ones: the rows of dL/dP and the deferred dL/dW_hh of the later steps must
  // not be read (they were never written in that pass).
  TEST_CASE("a backward from one step's state runs the earlier steps only, with the op-by-op gradients") {
    for (const auto& kind : kinds)
      for (bool reverse : {false, true}) {
        CAPTURE(kind.name);
        CAPTURE(reverse);
        RecurrentOptions options{.input_size = 3, .hidden_size = 2};
        Generator gen(22);
        const Setup s = setup(kind, options, gen);
        std::vector<std::vector<TensorD>> grads;
        for (bool fused : {true, false}) {
          std::vector<TensorD> own;
          for (const auto& p : s.parameters) own.push_back(TensorD(p.value(), true));
          const TensorD x(s.x.value(), true);
          auto layer = make(kind, options, own, gen);
          // Reach step 1's state through a public path: the cell's own unroll.
          const auto& cell = layer->cell(0, false);
          std::vector<TensorD> state;
          for (std::size_t k = 0; k < kind.states; ++k) state.push_back(zeros<double>({3, 2}));
          nn::UnrollResult<double> unrolled;
          if (fused) {
            unrolled = *cell.fused_unroll(x, state, reverse, {});
          } else {  // the same steps op by op, packed as the fused ones are
            const TensorD projected = reshape(cell.project_input(x), {12, cell.project_input(x).size(-1)});
            RecurrentState<double> h = state;
            unrolled.steps.resize(4);
            for (std::size_t n = 0; n < 4; ++n) {
              const std::size_t t = reverse ? 3 - n : n;
              h = cell.step(slice(projected, 0, 3 * t, 3 * t + 3), h);
              unrolled.steps[t] = h.size() == 1 ? h[0] : concat(h, 1);  // per_step = 1
            }
          }
          const std::size_t middle = reverse ? 2 : 1;  // the second step to run
          Generator weights(23);  // the same loss weights on both paths
          sum(unrolled.steps[middle] * randn<double>(unrolled.steps[middle].shape(), weights)).backward();
          std::vector<TensorD> g{x.grad()};
          for (const auto& p : own) g.push_back(p.grad());
          grads.push_back(g);
        }
        for (std::size_t k = 0; k < grads[0].size(); ++k) check_close(grads[0][k], grads[1][k], "gradient " + std::to_string(k));
      }
  }
}
