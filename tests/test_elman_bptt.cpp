// The hand-derived BPTT (bptt/elman_bptt.hpp) checked four independent ways:
// finite differences of its own forward, the notes' closed form for dL/dh_t,
// the tape (the same RNN built from autograd ops), and — for truncation — a
// by-hand T = 4, k = 2 derivation and a brute-force tape with one detached
// window per loss term.
// (The gradient report built on it: test_gradient_report.cpp.)
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <optional>

#include <xtensor/xbuilder.hpp>
#include <xtensor/xview.hpp>

#include <rewind/rewind.hpp>

#include "elman_test_support.hpp"

using namespace rwd;
using namespace rwd::nn;
using namespace rwd::bptt;

namespace {

using namespace elman_test;

std::size_t out_size(const ElmanModel<double>& m) {
  return m.readout ? m.readout->V.shape()[0] : m.layers.back().U.shape()[0];
}

Arr step_slice(const Arr& a, std::size_t t) { return Arr(xt::view(a, t, xt::all(), xt::all())); }

Arr vec1(double v) { return Arr(xt::zeros<double>({1})) + v; }

double max_abs(const Arr& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

// Elementwise relative error max_i |a_i - r_i| / |r_i|, with |r_i| floored at
// 1e-6 of the reference's largest entry (entries that are sums cancelling to
// nearly nothing carry the rounding of their terms, not of themselves).
double rel_error(const Arr& a, const Arr& r, double floor_fraction = 1e-6) {
  REQUIRE(Shape(a.shape().begin(), a.shape().end()) == Shape(r.shape().begin(), r.shape().end()));
  const double floor = floor_fraction * max_abs(r);
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::abs(a.data()[i] - r.data()[i]);
    if (std::isnan(diff)) return INFINITY;
    const double scale = std::max(std::abs(r.data()[i]), floor);
    worst = std::max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

#define CHECK_CLOSE(tape, ref, tol, ...)                                   \
  do {                                                                     \
    const double rewind_err_ = rel_error(tape, ref __VA_OPT__(,) __VA_ARGS__); \
    CHECK_MESSAGE(rewind_err_ <= (tol), #tape " rel err " << rewind_err_); \
  } while (false)

// ---- the same RNN on the tape (TapeRnn, tape_forward: elman_test_support.hpp) ----------

// Compares every gradient of the tape with the hand reference.
void check_tape_equals_reference(const TapeRnn& tape, const ElmanGradients<double>& ref, double tol) {
  for (std::size_t l = 0; l < tape.U.size(); ++l) {
    CAPTURE(l);
    const auto& g = ref.layers[l];
    CHECK_CLOSE(tape.U[l].grad().value(), g.U, tol);
    CHECK_CLOSE(tape.W[l].grad().value(), g.W, tol);
    CHECK_CLOSE(tape.b_ih[l].grad().value(), g.b, tol);
    CHECK_CLOSE(tape.h0[l].grad().value(), g.h0, tol);
    for (std::size_t t = 0; t < tape.h[l].size(); ++t) {
      CAPTURE(t);
      CHECK_CLOSE(tape.h[l][t].grad().value(), step_slice(g.dh, t), tol);
    }
  }
  CHECK_CLOSE(tape.x.grad().value(), ref.layers[0].x, tol);
  if (tape.V.defined()) {
    CHECK_CLOSE(tape.V.grad().value(), ref.V, tol);
    CHECK_CLOSE(tape.c.grad().value(), ref.c, tol);
  }
}

// ---- naive matrices for the closed form ---------------------------------------------

Arr naive_matmul(const Arr& A, const Arr& B) {
  Arr C = xt::zeros<double>({A.shape()[0], B.shape()[1]});
  for (std::size_t i = 0; i < A.shape()[0]; ++i)
    for (std::size_t j = 0; j < B.shape()[1]; ++j)
      for (std::size_t k = 0; k < A.shape()[1]; ++k) C(i, j) += A(i, k) * B(k, j);
  return C;
}

Arr naive_transpose(const Arr& A) {
  Arr B = Arr::from_shape({A.shape()[1], A.shape()[0]});
  for (std::size_t i = 0; i < A.shape()[0]; ++i)
    for (std::size_t j = 0; j < A.shape()[1]; ++j) B(j, i) = A(i, j);
  return B;
}

Arr matrix_power(const Arr& A, std::size_t p) {
  Arr R = xt::zeros<double>({A.shape()[0], A.shape()[0]});
  for (std::size_t i = 0; i < A.shape()[0]; ++i) R(i, i) = 1;
  for (std::size_t k = 0; k < p; ++k) R = naive_matmul(R, A);
  return R;
}

// ---- finite differences of the hand forward ---------------------------------------

using LossFn = std::function<double()>;

// Central differences of loss() in every element of `values` against `grad`.
void check_finite_differences(const char* what, Arr& values, const Arr& grad, const LossFn& loss) {
  CAPTURE(what);
  REQUIRE(values.size() == grad.size());
  const double eps = 1e-6;
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double saved = values.data()[i];
    values.data()[i] = saved + eps;
    const double up = loss();
    values.data()[i] = saved - eps;
    const double down = loss();
    values.data()[i] = saved;
    const double numeric = (up - down) / (2 * eps);
    CAPTURE(i);
    CHECK(std::abs(grad.data()[i] - numeric) <= 1e-7 + 1e-5 * std::abs(numeric));
  }
}

}  // namespace

TEST_SUITE("elman_bptt") {
  TEST_CASE("hand BPTT equals finite differences of the hand forward") {
    Generator gen(11);
    struct Config {
      std::vector<std::size_t> hidden;
      std::optional<std::size_t> output;
    };
    for (Act act : {Act::identity, Act::tanh, Act::relu}) {
      for (const Config& cfg : {Config{{4}, 2}, Config{{3, 4}, 2}, Config{{4, 3}, std::nullopt}}) {
        CAPTURE(act_name(act));
        CAPTURE(cfg.hidden.size());
        auto model = random_model(gen, 3, cfg.hidden, cfg.output, act);
        const std::size_t T = 5, B = 2;
        Arr x = random_array({T, B, 3}, gen);
        auto h0 = random_h0(model, B, gen);
        const Arr y = random_array({T, B, out_size(model)}, gen);
        LossFn loss = [&] { return elman_mse_loss(elman_forward(model, x, h0).o, y).value; };
        const auto trace = elman_forward(model, x, h0);
        const auto grads = elman_backward(model, x, trace, elman_mse_loss(trace.o, y).grad);
        for (std::size_t l = 0; l < model.layers.size(); ++l) {
          CAPTURE(l);
          check_finite_differences("U", model.layers[l].U, grads.layers[l].U, loss);
          check_finite_differences("W", model.layers[l].W, grads.layers[l].W, loss);
          check_finite_differences("b", model.layers[l].b, grads.layers[l].b, loss);
          check_finite_differences("h0", h0[l], grads.layers[l].h0, loss);
        }
        check_finite_differences("x", x, grads.layers[0].x, loss);
        if (model.readout) {
          check_finite_differences("V", model.readout->V, grads.V, loss);
          check_finite_differences("c", model.readout->c, grads.c, loss);
        }
      }
    }
  }

  TEST_CASE("mse: L = 1/T Σ_t (per-step mean), dL/do = 2 (o - y) / N") {
    // o - y = [[1, -2], [3, 0]] over T = 2 steps of 2 values: L = ((1 + 4)/2 + (9 + 0)/2)/2 = 3.5
    const Arr o = {{{1.0, -1.0}}, {{4.0, 2.0}}}, y = {{{0.0, 1.0}}, {{1.0, 2.0}}};
    const auto loss = elman_mse_loss(o, y);
    CHECK(loss.value == doctest::Approx(3.5));
    CHECK(loss.grad(0, 0, 1) == doctest::Approx(2.0 * -2.0 / 4.0));
    CHECK(loss.grad(1, 0, 0) == doctest::Approx(2.0 * 3.0 / 4.0));
    CHECK_THROWS_WITH_AS(elman_mse_loss(o, Arr(xt::zeros<double>({2, 2}))), doctest::Contains("differ in shape"),
                         Error);
  }

  TEST_CASE("identity activation: dL/dh_t is the notes' closed form") {
    // dL/dh_t = Σ_{i=t}^{T} (Wᵀ)^{T-i} Vᵀ dL/do_{T+t-i}, per batch column, computed here
    // with naive matrix powers: nothing shared with the recursion under test.
    Generator gen(5);
    const std::size_t T = 7, B = 3, I = 2, H = 4, O = 3;
    auto model = random_model(gen, I, {H}, O, Act::identity, 1.1);
    const Arr x = random_array({T, B, I}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, O}, gen);  // an arbitrary loss gradient
    const auto grads = elman_backward(model, x, elman_forward(model, x, h0), dL_do);
    const Arr Wt = naive_transpose(model.layers[0].W), Vt = naive_transpose(model.readout->V);
    for (std::size_t t = 1; t <= T; ++t) {
      for (std::size_t b = 0; b < B; ++b) {
        Arr expected = xt::zeros<double>({H, std::size_t(1)});
        for (std::size_t i = t; i <= T; ++i) {
          Arr g = Arr::from_shape({O, std::size_t(1)});
          for (std::size_t k = 0; k < O; ++k) g(k, 0) = dL_do(T + t - i - 1, b, k);
          expected += naive_matmul(matrix_power(Wt, T - i), naive_matmul(Vt, g));
        }
        for (std::size_t j = 0; j < H; ++j)
          CHECK(grads.layers[0].dh(t - 1, b, j) == doctest::Approx(expected(j, 0)).epsilon(1e-12));
      }
    }
    // and dL/dh_0 = Wᵀ dL/dh_1 (nothing reads h_0 directly)
    const Arr dh1 = step_slice(grads.layers[0].dh, 0);
    CHECK_CLOSE(grads.layers[0].h0, naive_matmul(dh1, model.layers[0].W), 1e-13);
  }

  TEST_CASE("hand BPTT equals the tape to 1e-10, over random sizes, seeds and lengths") {
    Generator gen(2024);
    struct Case {
      std::size_t T, B, I;
      std::vector<std::size_t> hidden;
      std::optional<std::size_t> output;
      Act act;
      bool mse;
    };
    std::vector<Case> cases = {
        {1, 3, 2, {4}, 3, Act::tanh, true},          // a single step
        {1, 1, 1, {1}, std::nullopt, Act::relu, false},
        {500, 2, 3, {5}, 2, Act::tanh, true},        // long: the tape is 500 steps deep
        {500, 2, 2, {4}, 1, Act::relu, false},
        {520, 1, 2, {3}, 2, Act::identity, true},
        {60, 2, 3, {4, 5, 3}, 2, Act::tanh, true},   // three stacked layers
        {40, 3, 2, {3, 3}, std::nullopt, Act::relu, false},
    };
    auto pick = [&gen](std::size_t lo, std::size_t hi) { return lo + std::size_t(gen.next_unit() * double(hi - lo + 1)); };
    for (int r = 0; r < 8; ++r) {  // random configurations
      std::vector<std::size_t> hidden(pick(1, 2));
      for (auto& h : hidden) h = pick(1, 6);
      const Act act = r % 3 == 0 ? Act::identity : r % 3 == 1 ? Act::tanh : Act::relu;
      cases.push_back({pick(2, 40), pick(1, 4), pick(1, 5), hidden,
                       r % 2 ? std::optional<std::size_t>(pick(1, 4)) : std::nullopt, act, r % 4 < 2});
    }
    for (const auto& c : cases) {
      CAPTURE(c.T);
      CAPTURE(c.hidden.size());
      CAPTURE(act_name(c.act));
      const auto model = random_model(gen, c.I, c.hidden, c.output, c.act, c.act == Act::identity ? 0.6 : 0.9);
      const Arr x = random_array({c.T, c.B, c.I}, gen);
      const auto h0 = random_h0(model, c.B, gen);
      const Arr target = random_array({c.T, c.B, out_size(model)}, gen);
      const auto trace = elman_forward(model, x, h0);

      TapeRnn tape = tape_forward(model, x, h0);
      CHECK_CLOSE(tape.o.value(), trace.o, 1e-12);  // same forward
      Arr dL_do;
      if (c.mse) {
        mean(pow(tape.o - TensorD(target), 2.0)).backward();  // the MSE, composed from ops
        dL_do = elman_mse_loss(trace.o, target).grad;
      } else {
        dL_do = random_array(trace.o.shape(), gen);  // an arbitrary loss: L = Σ dL_do ⊙ o
        tape.o.backward(TensorD(dL_do));
      }
      BpttOptions options;
      options.per_step_weight_grads = true;
      const auto ref = elman_backward(model, x, trace, dL_do, options);
      check_tape_equals_reference(tape, ref, 1e-10);

      // each step's share of dL/dW is δ_tᵀ h_{t-1}, δ_t being the tape's dL/da_t
      for (std::size_t l = 0; l < model.layers.size(); ++l) {
        Arr sum = xt::zeros<double>(ref.layers[l].W.shape());
        for (std::size_t t = 0; t < c.T; t += std::max<std::size_t>(1, c.T / 7)) {
          const Arr h_prev = t == 0 ? h0[l] : tape.h[l][t - 1].value();
          const Arr expected = naive_matmul(naive_transpose(tape.a[l][t].grad().value()), h_prev);
          CHECK_CLOSE(step_slice(ref.layers[l].W_per_step, t), expected, 1e-10);
        }
        for (std::size_t t = 0; t < c.T; ++t) sum += step_slice(ref.layers[l].W_per_step, t);
        CHECK_CLOSE(sum, ref.layers[l].W, 1e-12);
      }
    }
  }

  TEST_CASE("stacked layers compose by hand: the upper layer's dL/dx is the lower layer's dL/dh direct") {
    Generator gen(8);
    const std::size_t T = 9, B = 2, O = 2;
    const auto model = random_model(gen, 3, {4, 5}, O, Act::tanh);
    const Arr x = random_array({T, B, 3}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, O}, gen);
    const auto whole = elman_backward(model, x, elman_forward(model, x, h0), dL_do);

    const auto& lower = model.layers[0];
    const auto& upper = model.layers[1];
    const auto lower_trace = elman_layer_forward(lower, x, h0[0]);
    const Arr lower_h = xt::view(lower_trace.h, xt::range(1, T + 1));
    const auto upper_trace = elman_layer_forward(upper, lower_h, h0[1]);
    // readout by hand: dL/dh_t direct = dL/do_t V
    Arr direct = Arr::from_shape({T, B, 5});
    for (std::size_t t = 0; t < T; ++t)
      xt::view(direct, t) = naive_matmul(step_slice(dL_do, t), model.readout->V);
    const auto g_upper = elman_layer_backward(upper, lower_h, upper_trace, direct);
    const auto g_lower = elman_layer_backward(lower, x, lower_trace, g_upper.x);
    for (auto [a, b] : {std::pair{&g_lower, &whole.layers[0]}, std::pair{&g_upper, &whole.layers[1]}}) {
      CHECK_CLOSE(a->U, b->U, 1e-13);
      CHECK_CLOSE(a->W, b->W, 1e-13);
      CHECK_CLOSE(a->b, b->b, 1e-13);
      CHECK_CLOSE(a->h0, b->h0, 1e-13);
      CHECK_CLOSE(a->dh, b->dh, 1e-13);
      CHECK_CLOSE(a->x, b->x, 1e-13);
    }
  }

  TEST_CASE("input_grad = false skips dL/dx of the data and changes nothing else") {
    Generator gen(31);
    const auto model = random_model(gen, 3, {4, 3}, 2, Act::relu);
    const Arr x = random_array({8, 2, 3}, gen);
    const Arr dL_do = random_array({8, 2, 2}, gen);
    const auto trace = elman_forward(model, x);
    BpttOptions options;
    const auto with = elman_backward(model, x, trace, dL_do, options);
    options.input_grad = false;
    const auto without = elman_backward(model, x, trace, dL_do, options);
    CHECK(without.layers[0].x.dimension() == 0);
    CHECK(without.layers[1].x == with.layers[1].x);  // the lower layer's dL/dh direct
    for (std::size_t l = 0; l < 2; ++l) {
      CHECK(without.layers[l].U == with.layers[l].U);
      CHECK(without.layers[l].W == with.layers[l].W);
      CHECK(without.layers[l].dh == with.layers[l].dh);
    }
  }

  TEST_CASE("float: the same code in single precision") {
    // float against the double reference: 1e-4 relative, entries below 1% of the
    // largest measured against that 1% (float's 7 digits, summed over 30 steps)
    Generator gen(3);
    const auto model = random_model(gen, 3, {6, 4}, 2, Act::tanh);
    const std::size_t T = 30, B = 2;
    const Arr x = random_array({T, B, 3}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, 2}, gen);
    const auto ref = elman_backward(model, x, elman_forward(model, x, h0), dL_do);

    ElmanModel<float> mf;
    for (const auto& l : model.layers)
      mf.layers.push_back({xt::cast<float>(l.U), xt::cast<float>(l.W), xt::cast<float>(l.b), l.activation});
    mf.readout = ElmanReadout<float>{xt::cast<float>(model.readout->V), xt::cast<float>(model.readout->c)};
    const xt::xarray<float> xf = xt::cast<float>(x);
    const std::vector<xt::xarray<float>> h0f = {xt::cast<float>(h0[0]), xt::cast<float>(h0[1])};
    const auto gf = elman_backward(mf, xf, elman_forward(mf, xf, h0f), xt::xarray<float>(xt::cast<float>(dL_do)));
    for (std::size_t l = 0; l < 2; ++l) {
      CHECK_CLOSE(Arr(xt::cast<double>(gf.layers[l].U)), ref.layers[l].U, 1e-4, 1e-2);
      CHECK_CLOSE(Arr(xt::cast<double>(gf.layers[l].W)), ref.layers[l].W, 1e-4, 1e-2);
      CHECK_CLOSE(Arr(xt::cast<double>(gf.layers[l].dh)), ref.layers[l].dh, 1e-4, 1e-2);
    }
    CHECK_CLOSE(Arr(xt::cast<double>(gf.V)), ref.V, 1e-4, 1e-2);
  }

  TEST_CASE("bad shapes and arguments throw rwd::Error naming them") {
    Generator gen(1);
    auto model = random_model(gen, 3, {4}, 2, Act::tanh);
    const Arr x = random_array({5, 2, 3}, gen);
    const auto trace = elman_forward(model, x);
    const Arr dL_do = random_array({5, 2, 2}, gen);
    CHECK_THROWS_WITH_AS(elman_forward(model, Arr(random_array({5, 2, 4}, gen))),
                         doctest::Contains("layer 0: U has shape [4, 3], expected [4, 4]"), Error);
    CHECK_THROWS_WITH_AS(elman_forward(model, Arr(random_array({5, 3}, gen))),
                         doctest::Contains("x must be [T, B, I] with T >= 1, got [5, 3]"), Error);
    CHECK_THROWS_WITH_AS(elman_forward(model, x, {Arr(xt::zeros<double>({2, 5}))}),
                         doctest::Contains("h0 has shape [2, 5], expected [2, 4]"), Error);
    CHECK_THROWS_WITH_AS(elman_backward(model, x, trace, Arr(random_array({5, 2, 3}, gen))),
                         doctest::Contains("dL_do has shape [5, 2, 3], expected [5, 2, 2]"), Error);
    auto bad = model;
    bad.layers[0].W = xt::zeros<double>({4, 3});
    CHECK_THROWS_WITH_AS(elman_forward(bad, x), doctest::Contains("W has shape [4, 3], expected [4, 4]"), Error);
    bad = model;
    bad.readout->V = xt::zeros<double>({2, 5});
    CHECK_THROWS_WITH_AS(elman_forward(bad, x), doctest::Contains("readout V has shape [2, 5]"), Error);
    CHECK_THROWS_WITH_AS(elman_forward(ElmanModel<double>{}, x), doctest::Contains("the model has no layers"), Error);
  }

  // ---- truncated BPTT ---------------------------------------------------------------

  TEST_CASE("truncation k >= T is full BPTT, and the window algorithm agrees at k = T") {
    Generator gen(21);
    const std::size_t T = 11, B = 2;
    const auto model = random_model(gen, 3, {4, 3}, 2, Act::tanh);
    const Arr x = random_array({T, B, 3}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, 2}, gen);
    const auto trace = elman_forward(model, x, h0);
    const auto full = elman_backward(model, x, trace, dL_do);
    for (int k : {int(T), int(T) + 4}) {
      CAPTURE(k);
      BpttOptions options;
      options.truncation = k;
      const auto truncated = elman_backward(model, x, trace, dL_do, options);
      const auto windowed = bptt::detail::elman_backward_windowed(model, x, trace, dL_do, k, false);
      for (const auto* g : {&truncated, &windowed})
        for (std::size_t l = 0; l < 2; ++l) {
          CHECK_CLOSE(g->layers[l].U, full.layers[l].U, 1e-13);
          CHECK_CLOSE(g->layers[l].W, full.layers[l].W, 1e-13);
          CHECK_CLOSE(g->layers[l].b, full.layers[l].b, 1e-13);
          CHECK_CLOSE(g->layers[l].h0, full.layers[l].h0, 1e-13);
          CHECK_CLOSE(g->layers[l].x, full.layers[l].x, 1e-13);
          CHECK_CLOSE(g->layers[l].dh, full.layers[l].dh, 1e-13);
        }
    }
    // and k = T - 1 is not full: the last term no longer reaches h_0
    const auto shorter = bptt::detail::elman_backward_windowed(model, x, trace, dL_do, int(T) - 1, false);
    CHECK(rel_error(shorter.layers[0].h0, full.layers[0].h0) > 1e-6);
  }

  TEST_CASE("truncation T = 4, k = 2, derived by hand") {
    // Scalars, identity activation: h_t = u x_t + w h_{t-1} + b, o_t = v h_t + c, g_t = dL/do_t.
    // Loss term t reaches steps t and t-1 only (k = 2), and h_0 only for t <= 2.
    // Through step s the term contributes g_t v w^{t-s} ∂a_s, so the surviving terms are
    //   dL/dw = g1 v h0 + g2 v (h1 + w h0) + g3 v (h2 + w h1) + g4 v (h3 + w h2)
    //   dL/du = g1 v x1 + g2 v (x2 + w x1) + g3 v (x3 + w x2) + g4 v (x4 + w x3)
    //   dL/db = g1 v + (g2 + g3 + g4) v (1 + w)
    //   dL/dv = Σ g_t h_t,  dL/dc = Σ g_t  (the readout is not recurrent: nothing to truncate)
    //   dL/dh0 = g1 v w + g2 v w²
    //   dL/dh_t = g_t v + g_{t+1} v w  (dL/dh_4 = g4 v),   dL/dx_t = u dL/dh_t
    // whereas full BPTT would add e.g. g3 v w² h0 + g4 v (w² h1 + w³ h0) to dL/dw.
    const double u = 0.7, w = -1.3, b = 0.2, v = 1.9, c = -0.4, h0 = 0.6;
    const double xs[4] = {0.5, -1.0, 2.0, 0.3}, g[4] = {0.3, -1.1, 0.7, 2.0};
    double h[5] = {h0};
    for (int t = 1; t <= 4; ++t) h[t] = u * xs[t - 1] + w * h[t - 1] + b;

    ElmanModel<double> m;
    m.layers.push_back({mat11(u), mat11(w), vec1(b), Act::identity});
    m.readout = ElmanReadout<double>{mat11(v), vec1(c)};
    Arr x = Arr::from_shape({4, 1, 1}), dL_do = Arr::from_shape({4, 1, 1});
    for (std::size_t t = 0; t < 4; ++t) {
      x(t, 0, 0) = xs[t];
      dL_do(t, 0, 0) = g[t];
    }
    BpttOptions options;
    options.truncation = 2;
    const auto trace = elman_forward(m, x, {mat11(h0)});
    for (std::size_t t = 1; t <= 4; ++t) CHECK(trace.layers[0].h(t, 0, 0) == doctest::Approx(h[t]).epsilon(1e-14));
    const auto gr = elman_backward(m, x, trace, dL_do, options);
    const auto& L0 = gr.layers[0];
    const auto [g1, g2, g3, g4] = g;
    CHECK(L0.W(0, 0) == doctest::Approx(g1 * v * h[0] + g2 * v * (h[1] + w * h[0]) + g3 * v * (h[2] + w * h[1]) +
                                        g4 * v * (h[3] + w * h[2])).epsilon(1e-14));
    CHECK(L0.U(0, 0) == doctest::Approx(g1 * v * xs[0] + g2 * v * (xs[1] + w * xs[0]) + g3 * v * (xs[2] + w * xs[1]) +
                                        g4 * v * (xs[3] + w * xs[2])).epsilon(1e-14));
    CHECK(L0.b(0) == doctest::Approx(g1 * v + (g2 + g3 + g4) * v * (1 + w)).epsilon(1e-14));
    CHECK(gr.V(0, 0) == doctest::Approx(g1 * h[1] + g2 * h[2] + g3 * h[3] + g4 * h[4]).epsilon(1e-14));
    CHECK(gr.c(0) == doctest::Approx(g1 + g2 + g3 + g4).epsilon(1e-14));
    CHECK(L0.h0(0, 0) == doctest::Approx(g1 * v * w + g2 * v * w * w).epsilon(1e-14));
    for (std::size_t t = 0; t < 4; ++t) {
      const double dh = g[t] * v + (t < 3 ? g[t + 1] * v * w : 0.0);
      CHECK(L0.dh(t, 0, 0) == doctest::Approx(dh).epsilon(1e-14));
      CHECK(L0.x(t, 0, 0) == doctest::Approx(u * dh).epsilon(1e-14));
    }
    // the same through the layer-level entry point (its dh_direct = dL/do v)
    const auto layer_grads =
        elman_layer_backward(m.layers[0], x, trace.layers[0], Arr(dL_do * v), options);
    CHECK_CLOSE(layer_grads.W, L0.W, 1e-15);
    CHECK_CLOSE(layer_grads.dh, L0.dh, 1e-15);
    CHECK_CLOSE(layer_grads.h0, L0.h0, 1e-15);
  }

  TEST_CASE("truncation equals a brute-force tape that detaches a window per loss term") {
    // For each loss term t the tape runs every layer over steps t-k+1..t only,
    // starting from h_{t-k} detached (or from the h_0 leaves when t <= k), and
    // backpropagates Σ dL/do_t ⊙ o_t. Summed over t, the leaves' gradients are
    // the truncated ones by definition; dL/dh_s sums each window's h_s.grad().
    Generator gen(77);
    const std::size_t T = 7, B = 2, I = 3;
    for (Act act : {Act::tanh, Act::relu}) {
      for (bool readout : {true, false}) {
        const auto model = random_model(gen, I, {4, 3}, readout ? std::optional<std::size_t>(2) : std::nullopt, act);
        const std::size_t L = model.layers.size();
        const Arr x = random_array({T, B, I}, gen);
        const auto h0 = random_h0(model, B, gen);
        const Arr dL_do = random_array({T, B, out_size(model)}, gen);
        const auto trace = elman_forward(model, x, h0);
        const TapeRnn full = tape_forward(model, x, h0);  // for the detached window starts
        for (int k : {1, 2, 3, 6}) {
          CAPTURE(act_name(act));
          CAPTURE(readout);
          CAPTURE(k);
          TapeRnn leaves = tape_forward(model, x, h0);  // fresh leaves (their .grad() accumulates)
          std::vector<Arr> dh_sum;
          for (const auto& layer : model.layers) dh_sum.push_back(xt::zeros<double>({T, B, layer.U.shape()[0]}));
          for (std::size_t t = 1; t <= T; ++t) {
            const std::size_t start = t > std::size_t(k) ? t - k : 0;  // the window's initial state h_start
            std::vector<std::vector<TensorD>> hs(L);
            for (std::size_t l = 0; l < L; ++l) {
              TensorD h_prev = start == 0 ? leaves.h0[l] : full.h[l][start - 1].detach();
              for (std::size_t s = start + 1; s <= t; ++s) {
                const TensorD in = l == 0 ? select(leaves.x, 0, s - 1) : hs[l - 1][s - start - 1];
                TensorD h = activate(act, matmul(in, leaves.U[l], false, true) + leaves.b_ih[l] +
                                              matmul(h_prev, leaves.W[l], false, true));
                h.retain_grad();
                hs[l].push_back(h);
                h_prev = h;
              }
            }
            const TensorD& top = hs.back().back();
            const TensorD o_t = readout ? matmul(top, leaves.V, false, true) + leaves.c : top;
            sum(o_t * TensorD(step_slice(dL_do, t - 1))).backward();
            for (std::size_t l = 0; l < L; ++l)
              for (std::size_t s = start + 1; s <= t; ++s)
                xt::view(dh_sum[l], s - 1) += hs[l][s - start - 1].grad().value();
          }
          BpttOptions options;
          options.truncation = k;
          const auto ref = elman_backward(model, x, trace, dL_do, options);
          for (std::size_t l = 0; l < L; ++l) {
            CAPTURE(l);
            CHECK_CLOSE(leaves.U[l].grad().value(), ref.layers[l].U, 1e-12);
            CHECK_CLOSE(leaves.W[l].grad().value(), ref.layers[l].W, 1e-12);
            CHECK_CLOSE(leaves.b_ih[l].grad().value(), ref.layers[l].b, 1e-12);
            CHECK_CLOSE(leaves.h0[l].grad().value(), ref.layers[l].h0, 1e-12);
            CHECK_CLOSE(dh_sum[l], ref.layers[l].dh, 1e-12);
          }
          CHECK_CLOSE(leaves.x.grad().value(), ref.layers[0].x, 1e-12);
          if (readout) {
            CHECK_CLOSE(leaves.V.grad().value(), ref.V, 1e-12);
            CHECK_CLOSE(leaves.c.grad().value(), ref.c, 1e-12);
          }
        }
      }
    }
  }

  TEST_CASE("truncation k <= 0 is an error") {
    Generator gen(4);
    const auto model = random_model(gen, 2, {3}, 1, Act::tanh);
    const Arr x = random_array({4, 1, 2}, gen);
    const auto trace = elman_forward(model, x);
    for (int k : {0, -3}) {
      const std::string message = "truncation k must be >= 1 steps, got " + std::to_string(k);
      BpttOptions options;
      options.truncation = k;
      CHECK_THROWS_WITH_AS(elman_backward(model, x, trace, Arr(xt::zeros<double>({4, 1, 1})), options),
                           doctest::Contains(message.c_str()), Error);
      CHECK_THROWS_WITH_AS(elman_layer_backward(model.layers[0], x, trace.layers[0],
                                                Arr(xt::zeros<double>({4, 1, 3})), options),
                           doctest::Contains("truncation k must be >= 1"), Error);
    }
  }
}
