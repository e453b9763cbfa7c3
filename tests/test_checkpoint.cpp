// Gradient checkpointing: checkpoint() and checkpointed_unroll give the plain
// tape's gradients, while the tape's peak size over T = 10,000 steps grows as
// √T instead of T (counted with detail::peak_live_nodes()); likewise the nn
// layers' checkpoint_segment option.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xmath.hpp>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

// A tanh RNN with a per-step linear readout and squared-error loss:
//   h_t = tanh(x_t W_ihᵀ + b + h_{t-1} W_hhᵀ),  loss_t = mean((h_t w_outᵀ − y_t)²)
struct TanhRNN {
  TensorD weight_ih, weight_hh, bias, weight_out;
  std::vector<TensorD> xs, targets;
  TensorD h0;

  TanhRNN(std::size_t steps, std::size_t batch, std::size_t input, std::size_t hidden, std::uint64_t seed,
          bool inputs_require_grad = false) {
    Generator gen(seed);
    const double k = 1.0 / std::sqrt(static_cast<double>(hidden));
    weight_ih = uniform<double>({hidden, input}, -k, k, gen, true);
    weight_hh = uniform<double>({hidden, hidden}, -k, k, gen, true);
    bias = uniform<double>({hidden}, -k, k, gen, true);
    weight_out = uniform<double>({1, hidden}, -k, k, gen, true);
    for (std::size_t t = 0; t < steps; ++t) {
      xs.push_back(randn<double>({batch, input}, gen, inputs_require_grad));
      targets.push_back(randn<double>({batch, 1}, gen) * 0.5);
    }
    h0 = uniform<double>({batch, hidden}, -0.5, 0.5, gen, true);
  }
  std::vector<TensorD> params() const { return {weight_ih, weight_hh, bias, weight_out}; }

  UnrollStep<double> step(std::size_t t, const TensorD& x, const std::vector<TensorD>& state) const {
    TensorD h = tanh(linear(x, weight_ih, bias) + matmul(state[0], weight_hh, false, true));
    TensorD error = matmul(h, weight_out, false, true) - targets[t];
    return {{h}, mean(error * error)};
  }
  StepFn<double> step_fn() const {
    return [this](std::size_t t, const TensorD& x, const std::vector<TensorD>& state) { return step(t, x, state); };
  }
  // The plain unroll, every step on the tape.
  UnrollOutput<double> unroll() const {
    std::vector<TensorD> state{h0};
    TensorD loss;
    for (std::size_t t = 0; t < xs.size(); ++t) {
      auto out = step(t, xs[t], state);
      state = out.state;
      loss = loss.defined() ? loss + out.loss : out.loss;
    }
    return {state, loss};
  }
};

// The gradients backward leaves in the parameters and (if they require grad)
// the inputs; then clears them.
std::vector<xt::xarray<double>> take_grads(std::vector<TensorD> tensors) {
  std::vector<xt::xarray<double>> out;
  for (auto& t : tensors) {
    REQUIRE(t.grad().defined());
    out.push_back(t.grad().value());
    t.zero_grad();
  }
  return out;
}

// max_i |a_i − b_i| / max_i |b_i| over each pair of arrays; the worst pair.
double relative_difference(const std::vector<xt::xarray<double>>& a, const std::vector<xt::xarray<double>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].shape() == b[i].shape());
    const double scale = xt::amax(xt::abs(b[i]))();
    REQUIRE(scale > 0);
    worst = std::max(worst, xt::amax(xt::abs(a[i] - b[i]))() / scale);
  }
  return worst;
}

// An RNN, LSTM or GRU layer, 2 layers, bidirectional, the parameters drawn
// from `seed` (so two layers made with one seed are equal).
std::shared_ptr<nn::Recurrent<double>> make_layer(const std::string& kind, std::size_t checkpoint_segment,
                                                  std::size_t hidden = 4) {
  Generator gen(17);
  const nn::RecurrentOptions options{.input_size = 3, .hidden_size = hidden, .num_layers = 2, .bidirectional = true,
                                     .fused = false, .checkpoint_segment = checkpoint_segment};
  if (kind == "RNN") return std::make_shared<nn::RNN<double>>(options, gen);
  if (kind == "LSTM") return std::make_shared<nn::LSTM<double>>(options, gen);
  return std::make_shared<nn::GRU<double>>(options, gen);
}

}  // namespace

TEST_SUITE("checkpoint") {
  TEST_CASE("checkpointed_unroll's loss, final state and gradients equal the plain unroll's (any segment length)") {
    TanhRNN rnn(37, 2, 3, 5, 11, /*inputs_require_grad=*/true);
    std::vector<TensorD> differentiated = rnn.params();
    differentiated.push_back(rnn.h0);
    for (std::size_t t : {0, 5, 36}) differentiated.push_back(rnn.xs[t]);

    const auto plain = rnn.unroll();
    plain.loss.backward();
    const auto expected = take_grads(differentiated);
    for (std::size_t segment : {0, 1, 4, 7, 36, 37, 100}) {  // 0: ⌈√37⌉ = 7
      CAPTURE(segment);
      const auto result = checkpointed_unroll<double>(rnn.step_fn(), {rnn.h0}, rnn.xs, rnn.params(), segment);
      CHECK(result.loss.item() == doctest::Approx(plain.loss.item()).epsilon(1e-14));
      CHECK(xt::allclose(result.final_state[0].value(), plain.final_state[0].value(), 1e-14, 0.0));
      result.loss.backward();
      // Same ops on the same values; only the order of the per-segment sums differs.
      CHECK(relative_difference(take_grads(differentiated), expected) < 1e-12);
    }
  }

  TEST_CASE("checkpoint(): several outputs, some unused; gradients reach non-leaf inputs; works under grad()") {
    Generator gen(5);
    const TensorD w = randn<double>({3, 3}, gen, true);
    const TensorD a = randn<double>({2, 3}, gen, true);
    const TensorD x = tanh(a * 2.0);  // a non-leaf input: its gradient must flow on to `a`
    auto fn = [&w](const std::vector<TensorD>& in) {
      TensorD u = tanh(matmul(in[0], w));
      return std::vector<TensorD>{u, sum(u * u), exp(in[0])};  // the third output is not used below
    };
    auto loss_of = [](const std::vector<TensorD>& out) { return sum(out[0] * 3.0) + out[1]; };

    const auto plain = grad<double>({loss_of(fn({x}))}, {w, a}, {}, /*retain_graph=*/true);  // x's record is reused
    const auto checkpointed = checkpoint<double>(fn, {x}, {w});
    CHECK(std::string(checkpointed[0].op_name()) == "checkpoint");  // one op, several outputs (record_multi)
    CHECK(xt::allclose(checkpointed[2].value(), xt::exp(x.value())));
    const auto through = grad<double>({loss_of(checkpointed)}, {w, a});  // captured gradients, no .grad written
    CHECK(xt::allclose(through[0].value(), plain[0].value(), 1e-14, 0.0));
    CHECK(xt::allclose(through[1].value(), plain[1].value(), 1e-14, 0.0));
    CHECK_FALSE(w.grad().defined());

    // Without recording, checkpoint is just the call.
    NoGradGuard no_grad;
    const auto unrecorded = checkpoint<double>(fn, {x}, {w});
    CHECK_FALSE(unrecorded[0].requires_grad());
    CHECK(xt::allclose(unrecorded[0].value(), checkpointed[0].value(), 0.0, 0.0));
  }

  TEST_CASE("checkpoint reports what it cannot differentiate") {
    using doctest::Contains;
    Generator gen(6);
    const TensorD w = randn<double>({2, 2}, gen, true);
    const TensorD x = randn<double>({1, 2}, gen, true);
    // w used but not listed: its gradient would be lost.
    auto uses_w = [&w](const std::vector<TensorD>& in) { return std::vector<TensorD>{sum(matmul(in[0], w))}; };
    auto out = checkpoint<double>(uses_w, {x});
    CHECK_THROWS_WITH_AS(out[0].backward(),
                         Contains("checkpoint: the function uses a tensor of shape [2, 2] (a leaf) that requires grad "
                                  "but is neither one of its inputs nor in params"),
                         Error);
    CHECK_THROWS_WITH_AS(checkpoint<double>(uses_w, {x}, {w * 2.0}),
                         Contains("checkpoint: params[0] is the result of 'mul_scalar', expected a leaf tensor"), Error);
    CHECK_THROWS_WITH_AS(checkpoint<double>([](const std::vector<TensorD>&) { return std::vector<TensorD>{}; }, {x}),
                         Contains("checkpoint: the function returned no tensors"), Error);
    // Double backward goes through (test_layer_second_order runs gradgradcheck): here
    // d/dx of ⟨∂L/∂x, 1⟩ for L = Σ tanh(x W)², checkpointed and plain.
    auto squared = [&w](const std::vector<TensorD>& in) {
      return std::vector<TensorD>{sum(pow(tanh(matmul(in[0], w)), 2.0))};
    };
    const TensorD first = grad<double>({checkpoint<double>(squared, {x}, {w})[0]}, {x}, {}, false, true)[0];
    const TensorD plain_first = grad<double>({squared({x})[0]}, {x}, {}, false, true)[0];
    const auto second = grad<double>({sum(first)}, {x, w}), plain_second = grad<double>({sum(plain_first)}, {x, w});
    for (std::size_t k = 0; k < 2; ++k) CHECK(xt::allclose(second[k].value(), plain_second[k].value(), 1e-13, 0.0));
    CHECK_THROWS_WITH_AS(checkpointed_unroll<double>(
                             [](std::size_t, const TensorD& in, const std::vector<TensorD>& s) {
                               return UnrollStep<double>{{s[0] + in, s[0]}, TensorD()};
                             },
                             {x}, {x, x}, {}),
                         Contains("checkpointed_unroll: step 0 returned 2 state tensors, expected 1"), Error);
  }

  TEST_CASE("T = 10,000: the checkpointed tape peaks at O(√T) nodes, the plain one at O(T); same gradients") {
    const std::size_t steps = 10000;
    const double root = 100;  // √T
    TanhRNN rnn(steps, 1, 1, 2, 21);
    const std::int64_t baseline = detail::live_nodes();

    detail::reset_peak_live_nodes();
    {
      const auto plain = rnn.unroll();
      plain.loss.backward();
    }
    const std::int64_t plain_peak = detail::peak_live_nodes() - baseline;
    const auto expected = take_grads(rnn.params());

    detail::reset_peak_live_nodes();
    {
      const auto checkpointed = checkpointed_unroll<double>(rnn.step_fn(), {rnn.h0}, rnn.xs, rnn.params());
      checkpointed.loss.backward();
    }
    const std::int64_t checkpointed_peak = detail::peak_live_nodes() - baseline;
    const auto actual = take_grads(rnn.params());
    rnn.h0.zero_grad();
    CHECK(detail::live_nodes() == baseline);  // nothing left behind

    // Plain: every step keeps its ~8 nodes until backward reaches it. Checkpointed,
    // k = 100: 4 nodes per segment (checkpoint, its two outputs, the loss sum) kept
    // for 100 segments, plus one segment recomputed (~9 nodes per step and its inputs'
    // copies): about 16√T in all.
    MESSAGE("peak live nodes: plain ", plain_peak, ", checkpointed ", checkpointed_peak);
    CHECK(plain_peak >= static_cast<std::int64_t>(steps));
    CHECK(checkpointed_peak <= static_cast<std::int64_t>(20 * root));
    CHECK(relative_difference(actual, expected) < 1e-12);
  }

  TEST_CASE("nn layers with checkpoint_segment: the same outputs and gradients as the plain generic path") {
    for (const std::string kind : {"RNN", "LSTM", "GRU"}) {
      for (const bool padded : {false, true}) {
        Generator gen(3);
        const std::size_t steps = 23, batch = 2;
        const TensorD x = randn<double>({steps, batch, 3}, gen, true);
        const std::vector<std::size_t> lengths = padded ? std::vector<std::size_t>{23, 9} : std::vector<std::size_t>{};
        auto plain_layer = make_layer(kind, 0);
        const std::size_t state_count = plain_layer->cell(0).state_sizes().size();
        std::vector<TensorD> initial;
        for (std::size_t k = 0; k < state_count; ++k) initial.push_back(randn<double>({4, batch, 4}, gen, true));
        const TensorD weights = randn<double>({steps, batch, 8}, gen);
        // loss = Σ output ⊙ weights + Σ_k Σ final_state_k²: every output and state is used.
        auto run = [&](nn::Recurrent<double>& layer) {
          const auto out = layer.forward(x, initial, lengths);
          TensorD loss = sum(out.output * weights);
          for (const auto& s : out.final_state) loss = loss + sum(s * s);
          loss.backward();
          std::vector<TensorD> differentiated = layer.parameters();
          differentiated.push_back(x);
          differentiated.insert(differentiated.end(), initial.begin(), initial.end());
          return std::make_pair(out, take_grads(differentiated));
        };
        const auto [plain_out, expected] = run(*plain_layer);
        for (std::size_t segment : {1, 5, 23, 40}) {
          CAPTURE(kind);
          CAPTURE(padded);
          CAPTURE(segment);
          auto layer = make_layer(kind, segment);
          const auto [out, actual] = run(*layer);
          CHECK(xt::allclose(out.output.value(), plain_out.output.value(), 1e-14, 0.0));
          for (std::size_t k = 0; k < state_count; ++k)
            CHECK(xt::allclose(out.final_state[k].value(), plain_out.final_state[k].value(), 1e-14, 0.0));
          CHECK(relative_difference(actual, expected) < 1e-12);
        }
      }
    }
  }

  TEST_CASE("nn::LSTM over T = 2,500 with checkpoint_segment = 50: the tape peaks at O(√T) nodes") {
    const std::size_t steps = 2500;
    Generator gen(4);
    const TensorD x = randn<double>({steps, 1, 1}, gen);
    auto peak_of = [&](std::size_t segment, bool fused) {
      Generator init(9);
      nn::LSTM<double> lstm({.input_size = 1, .hidden_size = 2, .fused = fused, .checkpoint_segment = segment}, init);
      const std::int64_t baseline = detail::live_nodes();
      detail::reset_peak_live_nodes();
      {
        const auto out = lstm.forward(x);
        sum(out.output * out.output).backward();
      }
      const std::int64_t peak = detail::peak_live_nodes() - baseline;
      std::vector<xt::xarray<double>> grads;
      for (auto& p : lstm.parameters()) grads.push_back(p.grad().value());
      return std::make_pair(peak, grads);
    };
    const auto [generic_peak, expected] = peak_of(0, false);
    const auto [fused_peak, fused_grads] = peak_of(0, true);
    const auto [checkpointed_peak, actual] = peak_of(50, false);
    MESSAGE("peak live nodes: generic ", generic_peak, ", fused ", fused_peak, ", checkpointed ", checkpointed_peak);
    // The generic path keeps ~17 nodes per step; the fused one is a single
    // function over all T steps, whatever T (its saved buffers are arrays, not
    // values on the tape); the checkpointed one 50 segments of ~4 nodes plus
    // one recomputed segment of 50 steps (~17 nodes each): about 24√T.
    CHECK(generic_peak >= static_cast<std::int64_t>(steps));
    CHECK(fused_peak <= 30);
    CHECK(checkpointed_peak <= 30 * 50);
    CHECK(relative_difference(actual, expected) < 1e-12);
    CHECK(relative_difference(fused_grads, expected) < 1e-10);
  }
}
