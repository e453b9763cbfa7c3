// The hand-derived BPTT of the LSTM and GRU (bptt/gated_bptt.hpp) checked
// independently of the tape (finite differences of its own forward; truncation
// against full BPTT run window by window), then nn::LSTM / nn::GRU checked
// against it on both the fused and the op-by-op paths (check/gated_gradient_report.hpp),
// and a planted wrong backward located at its step.
#include <doctest/doctest.h>

#include <xtensor/xview.hpp>

#include <rewind/rewind.hpp>

using namespace rwd;
using namespace rwd::nn;
using bptt::GatedKind;

namespace {

using Arr = xt::xarray<double>;

Arr random_array(std::vector<std::size_t> shape, Generator& gen) { return randn<double>(Shape(shape), gen).value(); }

bptt::GatedModel<double> random_model(GatedKind kind, std::size_t I, std::vector<std::size_t> hidden, Generator& gen) {
  bptt::GatedModel<double> model;
  model.kind = kind;
  const std::size_t G = bptt::gate_count(kind);
  for (std::size_t H : hidden) {
    model.layers.push_back({0.5 * random_array({G * H, I}, gen), 0.5 * random_array({G * H, H}, gen),
                            0.3 * random_array({G * H}, gen), 0.3 * random_array({G * H}, gen)});
    I = H;
  }
  return model;
}

// L = Σ dL_do ⊙ o: its gradient with respect to o is dL_do.
double seeded_loss(const bptt::GatedModel<double>& model, const Arr& x, const std::vector<Arr>& h0,
                   const std::vector<Arr>& c0, const Arr& dL_do) {
  const auto trace = bptt::gated_forward(model, x, h0, c0);
  double sum = 0;
  for (std::size_t i = 0; i < dL_do.size(); ++i) sum += dL_do.data()[i] * trace.o.data()[i];
  return sum;
}

void test_support_check(const Arr& got, const Arr& expected) { CHECK(xt::allclose(got, expected, 1e-10, 1e-13)); }

double rel_diff(double a, double b) { return std::abs(a - b) / std::max({1e-8, std::abs(a), std::abs(b)}); }

// The largest max_rel over every row of a report.
double max_rel(const GradientReport& report) {
  double m = 0;
  for (const auto& p : report.parameters) m = std::max(m, p.max_rel);
  for (const auto& s : report.steps) m = std::max(m, s.difference.max_rel);
  return m;
}

}  // namespace

TEST_SUITE("gated_bptt") {
  TEST_CASE("hand BPTT equals central differences of the hand forward (every weight, h0, c0, x)") {
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru}) {
      CAPTURE(bptt::kind_name(kind));
      Generator gen(kind == GatedKind::lstm ? 1 : 2);
      const std::size_t T = 5, B = 2, I = 3;
      auto model = random_model(kind, I, {4, 3}, gen);
      Arr x = random_array({T, B, I}, gen);
      std::vector<Arr> h0{random_array({B, 4}, gen), random_array({B, 3}, gen)}, c0;
      if (kind == GatedKind::lstm) c0 = {random_array({B, 4}, gen), random_array({B, 3}, gen)};
      const Arr dL_do = random_array({T, B, 3}, gen);
      const auto trace = bptt::gated_forward(model, x, h0, c0);
      const auto g = bptt::gated_backward(model, x, trace, dL_do);
      // central differences, step 1e-6: error O(1e-12) against values O(1)
      auto numeric = [&](double& v) {
        const double saved = v, eps = 1e-6;
        v = saved + eps;
        const double up = seeded_loss(model, x, h0, c0, dL_do);
        v = saved - eps;
        const double down = seeded_loss(model, x, h0, c0, dL_do);
        v = saved;
        return (up - down) / (2 * eps);
      };
      double worst = 0;
      for (std::size_t l = 0; l < 2; ++l) {
        auto& layer = model.layers[l];
        const auto& gl = g.layers[l];
        for (std::size_t i = 0; i < layer.W_ih.size(); i += 3) worst = std::max(worst, rel_diff(numeric(layer.W_ih.data()[i]), gl.W_ih.data()[i]));
        for (std::size_t i = 0; i < layer.W_hh.size(); i += 2) worst = std::max(worst, rel_diff(numeric(layer.W_hh.data()[i]), gl.W_hh.data()[i]));
        for (std::size_t i = 0; i < layer.b_ih.size(); ++i) worst = std::max(worst, rel_diff(numeric(layer.b_ih.data()[i]), gl.b_ih.data()[i]));
        for (std::size_t i = 0; i < layer.b_hh.size(); ++i) worst = std::max(worst, rel_diff(numeric(layer.b_hh.data()[i]), gl.b_hh.data()[i]));
        for (std::size_t i = 0; i < h0[l].size(); ++i) worst = std::max(worst, rel_diff(numeric(h0[l].data()[i]), gl.h0.data()[i]));
        if (kind == GatedKind::lstm)
          for (std::size_t i = 0; i < c0[l].size(); ++i) worst = std::max(worst, rel_diff(numeric(c0[l].data()[i]), gl.c0.data()[i]));
      }
      for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, rel_diff(numeric(x.data()[i]), g.layers[0].x.data()[i]));
      CHECK(worst < 1e-6);
    }
  }

  TEST_CASE("dL/dh_t and dL/dc_t: the gradient of the same loss with respect to a state perturbed at step t") {
    // dL/dc_t is the total, as the tape sees the c_t a step returns: through h_t of the same step and through c_{t+1}.
    // Perturbing h_t (or c_t) of layer 0 alone needs the forward split at t:
    // steps 1..t with the model, then t+1..T from the perturbed state.
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru}) {
      Generator gen(3);
      const std::size_t T = 6, B = 2, I = 2, H = 3;
      const auto model = random_model(kind, I, {H}, gen);
      const Arr x = random_array({T, B, I}, gen);
      const Arr dL_do = random_array({T, B, H}, gen);
      const auto trace = bptt::gated_forward(model, x);
      const auto g = bptt::gated_backward(model, x, trace, dL_do);
      const std::size_t t = 3;  // 1-based step whose state is perturbed
      auto loss_from = [&](const Arr& h_t, const Arr& c_t) {
        double sum = 0;  // the loss terms up to t are unchanged by the later states: only o_t itself and after
        for (std::size_t i = 0; i < B * H; ++i) sum += dL_do.data()[(t - 1) * B * H + i] * h_t.data()[i];
        const Arr rest_x = xt::view(x, xt::range(t, T));
        std::vector<Arr> c0;
        if (kind == GatedKind::lstm) c0.push_back(c_t);
        const auto rest = bptt::gated_forward(model, rest_x, {h_t}, c0);
        for (std::size_t i = 0; i < rest.o.size(); ++i) sum += dL_do.data()[t * B * H + i] * rest.o.data()[i];
        return sum;
      };
      Arr h_t = xt::view(trace.layers[0].h, t), c_t;
      if (kind == GatedKind::lstm) c_t = xt::view(trace.layers[0].c, t);
      for (std::size_t i = 0; i < B * H; ++i) {
        const double eps = 1e-6, saved = h_t.data()[i];
        h_t.data()[i] = saved + eps;
        const double up = loss_from(h_t, c_t);
        h_t.data()[i] = saved - eps;
        const double down = loss_from(h_t, c_t);
        h_t.data()[i] = saved;
        CHECK(rel_diff((up - down) / (2 * eps), g.layers[0].dh.data()[(t - 1) * B * H + i]) < 1e-6);
        if (kind != GatedKind::lstm) continue;
        // c_t also makes h_t = o_t ⊙ tanh(c_t) within its step: the total dL/dc_t moves h_t with it
        auto loss_from_c = [&](const Arr& c) {
          Arr h = h_t;
          for (std::size_t b = 0; b < B; ++b)
            for (std::size_t j = 0; j < H; ++j)
              h(b, j) = trace.layers[0].gates(t - 1, b, 3 * H + j) * std::tanh(c(b, j));
          return loss_from(h, c);
        };
        const double saved_c = c_t.data()[i];
        c_t.data()[i] = saved_c + eps;
        const double up_c = loss_from_c(c_t);
        c_t.data()[i] = saved_c - eps;
        const double down_c = loss_from_c(c_t);
        c_t.data()[i] = saved_c;
        CHECK(rel_diff((up_c - down_c) / (2 * eps), g.layers[0].dc.data()[(t - 1) * B * H + i]) < 1e-6);
      }
    }
  }

  TEST_CASE("truncation k: the sum over loss terms of full BPTT run on each term's k-step window") {
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru}) {
      CAPTURE(bptt::kind_name(kind));
      Generator gen(4);
      const std::size_t T = 7, B = 2, I = 2, k = 3;
      const auto model = random_model(kind, I, {3, 2}, gen);
      const Arr x = random_array({T, B, I}, gen);
      const Arr dL_do = random_array({T, B, 2}, gen);
      const auto trace = bptt::gated_forward(model, x);
      bptt::BpttOptions options;
      options.truncation = static_cast<int>(k);
      const auto truncated = bptt::gated_backward(model, x, trace, dL_do, options);
      // brute force: for each t, the window t-k+1..t from the stored (detached) states, seeded at its last step
      bptt::GatedGradients<double> sum;
      for (std::size_t t = 1; t <= T; ++t) {
        const std::size_t start = t > k ? t - k : 0;  // states after `start` steps begin the window
        const Arr wx = xt::view(x, xt::range(start, t));
        std::vector<Arr> h0, c0;
        for (const auto& layer : trace.layers) {
          h0.push_back(xt::view(layer.h, start));
          if (kind == GatedKind::lstm) c0.push_back(xt::view(layer.c, start));
        }
        Arr seed = xt::zeros<double>({t - start, B, std::size_t{2}});
        xt::view(seed, t - start - 1) = xt::view(dL_do, t - 1);
        const auto wtrace = bptt::gated_forward(model, wx, h0, c0);
        const auto g = bptt::gated_backward(model, wx, wtrace, seed);
        if (sum.layers.empty()) sum = g;
        else
          for (std::size_t l = 0; l < g.layers.size(); ++l) {
            sum.layers[l].W_ih += g.layers[l].W_ih, sum.layers[l].W_hh += g.layers[l].W_hh;
            sum.layers[l].b_ih += g.layers[l].b_ih, sum.layers[l].b_hh += g.layers[l].b_hh;
          }
      }
      for (std::size_t l = 0; l < 2; ++l) {
        test_support_check(truncated.layers[l].W_ih, sum.layers[l].W_ih);
        test_support_check(truncated.layers[l].W_hh, sum.layers[l].W_hh);
        test_support_check(truncated.layers[l].b_ih, sum.layers[l].b_ih);
        test_support_check(truncated.layers[l].b_hh, sum.layers[l].b_hh);
      }
      // and k >= T is full BPTT
      options.truncation = static_cast<int>(T);
      const auto full = bptt::gated_backward(model, x, trace, dL_do);
      const auto k_eq_T = bptt::gated_backward(model, x, trace, dL_do, options);
      CHECK(xt::allclose(full.layers[0].W_hh, k_eq_T.layers[0].W_hh, 1e-12, 1e-14));
      CHECK_FALSE(xt::allclose(full.layers[0].W_hh, truncated.layers[0].W_hh, 1e-6, 1e-8));
    }
  }

  TEST_CASE("each step's share of every weight's gradient sums to the total; the last step's alone at T = 1") {
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru}) {
      Generator gen(5);
      const auto model = random_model(kind, 2, {3}, gen);
      const Arr x = random_array({6, 2, 2}, gen), dL_do = random_array({6, 2, 3}, gen);
      bptt::BpttOptions options;
      options.per_step_weight_grads = true;
      const auto g = bptt::gated_backward(model, x, bptt::gated_forward(model, x), dL_do, options).layers[0];
      CHECK(g.W_hh_per_step.shape()[0] == 6);
      CHECK(xt::allclose(xt::sum(g.W_ih_per_step, {0}), g.W_ih, 1e-12, 1e-14));
      CHECK(xt::allclose(xt::sum(g.W_hh_per_step, {0}), g.W_hh, 1e-12, 1e-14));
      CHECK(xt::allclose(xt::sum(g.b_ih_per_step, {0}), g.b_ih, 1e-12, 1e-14));
      CHECK(xt::allclose(xt::sum(g.b_hh_per_step, {0}), g.b_hh, 1e-12, 1e-14));
      // from h_0 = 0 the first step's share of dL/dW_hh is δ_1ᵀ h_0 = 0
      CHECK(xt::amax(xt::abs(xt::view(g.W_hh_per_step, 0)))() == 0.0);
    }
  }

  TEST_CASE("bad shapes and arguments throw rwd::Error naming them") {
    Generator gen(6);
    auto model = random_model(GatedKind::lstm, 2, {3}, gen);
    const Arr x = random_array({4, 2, 2}, gen);
    CHECK_THROWS_WITH_AS(bptt::gated_forward(model, Arr(random_array({4, 2, 5}, gen))), doctest::Contains("W_ih"), Error);
    CHECK_THROWS_WITH_AS(bptt::gated_forward(model, x, {random_array({2, 4}, gen)}), doctest::Contains("h0"), Error);
    const auto trace = bptt::gated_forward(model, x);
    bptt::BpttOptions options;
    options.truncation = 0;
    CHECK_THROWS_WITH_AS(bptt::gated_backward(model, x, trace, Arr(random_array({4, 2, 3}, gen)), options),
                         doctest::Contains("truncation"), Error);
    CHECK_THROWS_WITH_AS(bptt::gated_backward(model, x, trace, Arr(random_array({4, 2, 2}, gen))),
                         doctest::Contains("dL_do"), Error);
    model.kind = GatedKind::gru;
    CHECK_THROWS_WITH_AS(bptt::gated_forward(model, x), doctest::Contains("W_hh must be [3·H, H]"), Error);
  }
}

TEST_SUITE("gradient_report_gated") {
  TEST_CASE("nn::LSTM and nn::GRU match the hand BPTT to 1e-10, fused and op by op, per parameter and step") {
    struct Case {
      std::size_t T, B, layers;
      bool fused;
    };
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru})
      for (const Case& c : {Case{30, 3, 2, true}, Case{30, 3, 2, false}, Case{1, 2, 1, true}, Case{200, 2, 1, true}}) {
        CAPTURE(bptt::kind_name(kind));
        CAPTURE(c.T);
        CAPTURE(c.fused);
        Generator gen(c.T + c.layers);
        const std::size_t I = 3, H = 5;
        const RecurrentOptions options{.input_size = I, .hidden_size = H, .num_layers = c.layers, .fused = c.fused};
        const TensorD x = randn<double>({c.T, c.B, I}, gen);
        const TensorD h0 = randn<double>({c.layers, c.B, H}, gen), c0 = randn<double>({c.layers, c.B, H}, gen);
        const TensorD V = randn<double>({2, H}, gen), target = randn<double>({c.T, c.B, std::size_t{2}}, gen);
        auto loss = [&](const TensorD& out) { return mean(pow(matmul(out, V, false, true) - target, 2.0)); };
        GradientReport report;
        if (kind == GatedKind::lstm) {
          LSTM<double> lstm(options, gen);
          report = check_lstm_gradients(lstm, x, h0, c0, loss);
          CHECK(report.parameters.size() == 4 * c.layers + 3);  // + h0, c0, x
          CHECK(report.steps.size() == 2 * c.layers * c.T);     // dL/dh_t and dL/dc_t
        } else {
          GRU<double> gru(options, gen);
          report = check_gru_gradients(gru, x, h0, loss);
          CHECK(report.parameters.size() == 4 * c.layers + 2);
          CHECK(report.steps.size() == c.layers * c.T);
        }
        CHECK_MESSAGE(report.passed(), report.to_string());
        CHECK(max_rel(report) < 1e-10);
      }
  }

  TEST_CASE("a wrong backward planted at one step is located at that step") {
    // A cell that wraps LSTMCell/GRUCell and, at step 8 of 12, passes h_7 through
    // an op whose forward is the identity and whose backward multiplies by 1.5.
    // dL/dh_12 … dL/dh_8 stay right; dL/dh_7 and every earlier one go wrong.
    for (GatedKind kind : {GatedKind::lstm, GatedKind::gru}) {
      CAPTURE(bptt::kind_name(kind));
      Generator gen(11);
      const std::size_t T = 12, B = 2, I = 2, H = 3;
      std::shared_ptr<GatedCell<double>> inner;
      if (kind == GatedKind::lstm) inner = std::make_shared<LSTMCell<double>>(I, H, true, gen);
      else inner = std::make_shared<GRUCell<double>>(I, H, true, gen);
      struct Buggy : RecurrentCell<double> {
        std::shared_ptr<GatedCell<double>> inner;
        std::vector<TensorD> h, c;
        mutable std::size_t t = 0;
        std::vector<TensorD>* hs = nullptr;
        std::vector<TensorD>* cs = nullptr;
        std::string type_name() const override { return "Buggy"; }
        std::size_t input_size() const override { return inner->input_size(); }
        std::size_t hidden_size() const override { return inner->hidden_size(); }
        std::vector<std::size_t> state_sizes() const override { return inner->state_sizes(); }
        TensorD project_input(const TensorD& x) const override { return inner->project_input(x); }
        RecurrentState<double> step(const TensorD& p, const RecurrentState<double>& state) const override {
          RecurrentState<double> in = state;
          if (++t == 8)
            in[0] = record<double>("buggy_identity", Arr(state[0].value()), {state[0]},
                                   [](const auto&, const auto&, const TensorD& g) { return Grads<double>{g * 1.5}; });
          RecurrentState<double> next = inner->step(p, in);
          for (auto& s : next) s.retain_grad();
          hs->push_back(next[0]);
          if (next.size() > 1) cs->push_back(next[1]);
          return next;
        }
      };
      std::vector<TensorD> hs, cs;
      auto buggy = std::make_shared<Buggy>();
      buggy->inner = inner, buggy->hs = &hs, buggy->cs = &cs;
      Recurrent<double> layer({.input_size = I, .hidden_size = H}, [&](std::size_t) { return buggy; });
      TensorD x(random_array({T, B, I}, gen), true);
      const Arr dL_do = random_array({T, B, H}, gen);
      layer.forward(x).output.backward(TensorD(dL_do));
      TapeGradients<double> tape{{{"weight_ih_l0", inner->weight_ih()},
                                  {"weight_hh_l0", inner->weight_hh()},
                                  {"bias_ih_l0", inner->bias_ih()},
                                  {"bias_hh_l0", inner->bias_hh()}},
                                 {hs},
                                 TensorD(),
                                 x};
      if (kind == GatedKind::lstm) tape.cell = {cs};
      const auto report = check_gated_gradients(tape, kind, dL_do);
      const std::string table = report.to_string();
      INFO(table);
      CHECK_FALSE(report.passed());
      for (const auto& s : report.steps) {
        CAPTURE(s.step);
        CAPTURE(s.state);
        // dL/dc_7 includes dL/dh_7 (through h_7 = o ⊙ tanh c_7), so it goes wrong at step 7 too
        CHECK(s.difference.passed == (s.step >= 8));
      }
      REQUIRE(report.first_divergence());
      CHECK(report.first_divergence()->step == 7);
      CHECK(table.find("first goes wrong at layer 0, step 7 (dL/dh_7)") != std::string::npos);
    }
  }

  TEST_CASE("what the reference does not model is refused") {
    Generator gen(7);
    auto loss = [](const TensorD& out) { return sum(out); };
    const TensorD x = randn<double>({4, 2, 3}, gen);
    LSTM<double> bidirectional({.input_size = 3, .hidden_size = 4, .bidirectional = true}, gen);
    CHECK_THROWS_WITH_AS(check_lstm_gradients(bidirectional, x, TensorD(), TensorD(), loss),
                         doctest::Contains("unidirectional"), Error);
    GRU<double> dropout({.input_size = 3, .hidden_size = 4, .num_layers = 2, .dropout = 0.5}, gen);
    CHECK_THROWS_WITH_AS(check_gru_gradients(dropout, x, TensorD(), loss), doctest::Contains("call eval() first"), Error);
    dropout.eval();
    CHECK(check_gru_gradients(dropout, x, TensorD(), loss).passed());
    CHECK_THROWS_WITH_AS(gated_model_from_parameters<double>(GatedKind::lstm, {{"weight", TensorD({1.0})}}),
                         doctest::Contains("not a LSTM parameter"), Error);
  }
}
