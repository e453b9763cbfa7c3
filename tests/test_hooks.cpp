// retain_grad() and register_hook(): reading dL/dh_t at every step of an
// unrolled RNN, and replacing a gradient on its way back.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <rewind/rewind.hpp>

#include "tanh_rnn.hpp"
#include "test_support.hpp"

using namespace rwd;

using test_support::check_close;

namespace {

constexpr std::size_t steps = 5, batch = 2, input_size = 3, hidden_size = 4;

struct Setup {
  rnn_test::Layer layer;
  std::vector<TensorD> xs, readouts;  // readouts r_t: fixed weights of the loss
  TensorD h0;
};

Setup make_setup() {
  Generator gen(2024);
  Setup s{rnn_test::make_layer(input_size, hidden_size, gen), {}, {}, randn<double>({batch, hidden_size}, gen)};
  for (std::size_t t = 0; t < steps; ++t) {
    s.xs.push_back(randn<double>({batch, input_size}, gen));
    s.readouts.push_back(randn<double>({batch, hidden_size}, gen));
  }
  return s;
}

// L = Σ_t Σ h_t ⊙ r_t
TensorD loss_of(const std::vector<TensorD>& hs, const std::vector<TensorD>& readouts) {
  TensorD loss = sum(hs[0] * readouts[0]);
  for (std::size_t t = 1; t < hs.size(); ++t) loss = loss + sum(hs[t] * readouts[t]);
  return loss;
}

// dL/dh_t by the BPTT recursion, derived by hand and computed with plain loops:
//   δ_T = r_T,   δ_t = r_t + (δ_{t+1} ⊙ (1 - h_{t+1}²)) W_hh
// (a_{t+1} = … + h_t W_hhᵀ, so ∂L/∂h_t gets (∂L/∂a_{t+1}) W_hh).
std::vector<xt::xarray<double>> bptt_by_hand(const Setup& s, const std::vector<TensorD>& hs) {
  std::vector<xt::xarray<double>> delta(steps);
  const auto& w_hh = s.layer.weight_hh.value();
  for (std::size_t t = steps; t-- > 0;) {
    delta[t] = s.readouts[t].value();
    if (t + 1 == steps) continue;
    const auto& next = hs[t + 1].value();
    for (std::size_t b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < hidden_size; ++j)
        for (std::size_t i = 0; i < hidden_size; ++i)
          delta[t](b, j) += delta[t + 1](b, i) * (1 - next(b, i) * next(b, i)) * w_hh(i, j);
  }
  return delta;
}

}  // namespace

TEST_SUITE("hooks") {
  TEST_CASE("retain_grad on every hidden state of an unrolled tanh RNN gives dL/dh_t") {
    const Setup s = make_setup();
    // h_t + p_t with probes p_t = 0: the same function, and dL/dp_t = dL/dh_t
    // can be measured by finite differences on p_t.
    std::vector<TensorD> probes;
    for (std::size_t t = 0; t < steps; ++t) probes.push_back(zeros<double>({batch, hidden_size}));
    auto probed = [&](std::size_t t, TensorD h) { return h + probes[t]; };

    std::vector<TensorD> hs = rnn_test::unroll(s.layer, s.xs, s.h0, [&](std::size_t t, TensorD h) {
      TensorD out = probed(t, h);
      out.retain_grad();
      return out;
    });
    loss_of(hs, s.readouts).backward();

    const auto by_hand = bptt_by_hand(s, hs);
    const double eps = 1e-6;
    for (std::size_t t = 0; t < steps; ++t) {
      CAPTURE(t);
      REQUIRE(hs[t].grad().defined());
      CHECK_FALSE(hs[t].grad().requires_grad());
      check_close(hs[t].grad().value(), by_hand[t], 1e-12);

      // Central differences on the probe of step t.
      xt::xarray<double> numeric = xt::zeros<double>({batch, hidden_size});
      for (std::size_t k = 0; k < numeric.size(); ++k) {
        NoGradGuard no_grad;
        double& p = probes[t].mutable_data()[k];
        p = eps;
        const double plus = loss_of(rnn_test::unroll(s.layer, s.xs, s.h0, probed), s.readouts).item();
        p = -eps;
        const double minus = loss_of(rnn_test::unroll(s.layer, s.xs, s.h0, probed), s.readouts).item();
        p = 0;
        numeric.data()[k] = (plus - minus) / (2 * eps);
      }
      check_close(hs[t].grad().value(), numeric, 1e-6);
    }
    // Leaves got their gradients as usual alongside.
    CHECK(s.layer.weight_hh.grad().defined());
  }

  TEST_CASE("a hook reads the gradient of a hidden state; one that returns zeros truncates BPTT there") {
    const Setup s = make_setup();
    constexpr std::size_t cut = 3;
    TensorD seen;
    std::vector<TensorD> hs = rnn_test::unroll(s.layer, s.xs, s.h0, [&](std::size_t t, TensorD h) {
      h.retain_grad();
      if (t == cut) {
        h.register_hook([&seen](const TensorD& g) {
          seen = g;
          return zeros_like(g);  // replace: nothing flows back past step `cut`
        });
      }
      return h;
    });
    loss_of(hs, s.readouts).backward();

    // The hook saw the true dL/dh_cut, by the recursion above.
    const auto by_hand = bptt_by_hand(s, hs);
    REQUIRE(seen.defined());
    check_close(seen.value(), by_hand[cut], 1e-12);
    // .grad reflects the replacement (retained after hooks, as in PyTorch).
    check_close(hs[cut].grad().value(), xt::zeros<double>({batch, hidden_size}), 0);
    // Steps after the cut are untouched; the step before gets only its own readout.
    for (std::size_t t = cut + 1; t < steps; ++t) check_close(hs[t].grad().value(), by_hand[t], 1e-12);
    check_close(hs[cut - 1].grad().value(), s.readouts[cut - 1].value(), 1e-12);
  }

  TEST_CASE("a replaced gradient propagates to the inputs of the hooked tensor") {
    // u = w ⊙ x,  L = Σ u² + Σ w:   dL/dw = 2u ⊙ x + 1.
    // Doubling dL/du in a hook gives dL/dw = 4u ⊙ x + 1.
    TensorD x({1.0, -2.0, 3.0});
    auto w = TensorD({0.5, 1.5, -1.0}).requires_grad_();
    auto u = w * x;
    u.register_hook([](const TensorD& g) { return g * 2.0; });
    (sum(u * u) + sum(w)).backward();
    const double u_values[] = {0.5, -3.0, -3.0};
    for (std::size_t i = 0; i < 3; ++i)
      CHECK(w.grad().value()(i) == doctest::Approx(4 * u_values[i] * x.value()(i) + 1));
  }

  TEST_CASE("hooks on leaves see the summed gradient once and change what accumulates") {
    // w used twice: L = Σ w ⊙ a + Σ w ⊙ w, dL/dw = a + 2w.
    TensorD a({1.0, 2.0});
    auto w = TensorD({3.0, -1.0}).requires_grad_();
    int calls = 0;
    TensorD seen;
    w.register_hook([&](const TensorD& g) {
      ++calls;
      seen = g;
      return TensorD();  // undefined: keep the gradient as it is
    });
    w.register_hook([](const TensorD& g) { return g + 1.0; });  // hooks chain in order:
    w.register_hook([](const TensorD& g) { return g * 3.0; });  // (g + 1) · 3
    (sum(w * a) + sum(w * w)).backward();
    CHECK(calls == 1);
    CHECK(seen.value()(0) == doctest::Approx(1.0 + 6.0));
    CHECK(seen.value()(1) == doctest::Approx(2.0 - 2.0));
    CHECK(w.grad().value()(0) == doctest::Approx((7.0 + 1) * 3));
    CHECK(w.grad().value()(1) == doctest::Approx((0.0 + 1) * 3));
  }

  TEST_CASE("hooks also run under grad(), and a wrongly shaped replacement is an error") {
    auto w = TensorD({2.0, 5.0}).requires_grad_();
    auto v = w * w;
    v.register_hook([](const TensorD& g) { return g * 10.0; });
    auto g = grad<double>({sum(v)}, {w}, {}, /*retain_graph=*/true);
    CHECK(g[0].value()(0) == doctest::Approx(40.0));  // 10 · 2w
    CHECK_FALSE(w.grad().defined());                  // grad() returns, it does not accumulate

    auto bad = TensorD({1.0, 2.0}).requires_grad_();
    auto y = bad * 2.0;
    y.register_hook([](const TensorD&) { return zeros<double>({3}); });
    CHECK_THROWS_WITH_AS(sum(y).backward(), "backward: a hook on a tensor of shape [2] returned a gradient of shape [3]",
                         Error);
    CHECK_THROWS_WITH_AS(TensorD({1.0}).register_hook([](const TensorD& g) { return g; }),
                         "register_hook: the tensor does not require grad", Error);
  }
}
