// Truncated BPTT: the driver's gradients against tapes built directly, with
// the truncation written out by hand (detach at the window starts).
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include <rewind/rewind.hpp>

#include "optim_test_support.hpp"

using namespace rwd;
using namespace rwd::optim;
using optim_test::bitwise_equal;
using optim_test::ElmanRNN;
using optim_test::SineTask;

namespace {

using GradList = std::vector<xt::xarray<double>>;

// An update callback that records each window's gradients and zeroes them
// (parameters are not changed, so every window sees the same weights).
struct Recorder {
  std::vector<TensorD> params;
  std::vector<GradList> windows;
  void operator()() {
    GradList grads;
    for (auto& p : params) {
      grads.push_back(p.grad().defined() ? p.grad().value() : xt::zeros<double>(p.shape()));
      p.zero_grad();
    }
    windows.push_back(std::move(grads));
  }
  GradList total() const {
    GradList sum = windows.at(0);
    for (std::size_t w = 1; w < windows.size(); ++w)
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += windows[w][i];
    return sum;
  }
};

void check_close(const GradList& actual, const GradList& expected, double tolerance = 1e-12) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    REQUIRE(actual[i].shape() == expected[i].shape());
    for (std::size_t j = 0; j < actual[i].size(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(actual[i].data()[j] == doctest::Approx(expected[i].data()[j]).epsilon(tolerance));
    }
  }
}

GradList grads_of(const std::vector<TensorD>& params) {
  GradList out;
  for (const auto& p : params) out.push_back(p.grad().value());
  return out;
}

}  // namespace

TEST_SUITE("tbptt") {
  TEST_CASE("TBPTT(1, k) over unchanged weights equals the hand-derived truncated BPTT (k steps per loss term)") {
    // With k1 = 1 each update backpropagates one loss term k2 = k steps deep, so
    // the sum of the updates' gradients is "each loss term reaches back at most
    // k steps": the hand-derived BPTT's truncation (bptt/elman_bptt.hpp), which
    // shares no code with the tape or the driver.
    const std::size_t length = 12, batch = 3;
    for (std::size_t k : {1u, 3u, 5u, 12u, 20u}) {
      CAPTURE(k);
      ElmanRNN<double> model(1, 4, 1, 11);
      SineTask<double> task(length, batch);
      Recorder recorder{model.parameters(), {}};
      truncated_bptt<double>(length, {model.initial_state(batch)}, chunk_from_steps(optim_test::sine_step(model, task)),
                             [&] { recorder(); }, TBPTTOptions{.k1 = 1, .k2 = k});

      bptt::ElmanModel<double> hand;
      hand.layers.push_back({model.weight_ih.value(), model.weight_hh.value(),
                             xt::xarray<double>(model.bias_ih.value() + model.bias_hh.value()),
                             bptt::ElmanActivation::tanh});
      hand.readout = bptt::ElmanReadout<double>{model.weight_out.value(), model.bias_out.value()};
      xt::xarray<double> x = xt::zeros<double>({length, batch, std::size_t{1}});
      xt::xarray<double> y = xt::zeros<double>({length, batch, std::size_t{1}});
      for (std::size_t t = 0; t < length; ++t)
        for (std::size_t b = 0; b < batch; ++b) {
          x(t, b, 0) = task.inputs[t].value()(b, 0);
          y(t, b, 0) = task.inputs[t + 1].value()(b, 0);
        }
      const auto trace = bptt::elman_forward(hand, x);
      // L = Σ_t mean_b (o_t - y_t)²  ->  dL/do_t = 2 (o_t - y_t) / B
      const xt::xarray<double> dL_do = 2.0 * (trace.o - y) / static_cast<double>(batch);
      bptt::BpttOptions options;
      options.truncation = static_cast<int>(k);
      const auto ref = bptt::elman_backward(hand, x, trace, dL_do, options);
      const auto& layer = ref.layers[0];
      // parameter order: weight_ih, weight_hh, bias_ih, bias_hh, weight_out, bias_out
      check_close(recorder.total(), {layer.U, layer.W, layer.b, layer.b, ref.V, ref.c}, 1e-10);
    }
  }

  TEST_CASE("chunked TBPTT (k1 = k2) equals one tape detached at the chunk boundaries") {
    ElmanRNN<double> rnn(1, 3, 1, 11);
    SineTask<double> task(23, 2);  // 23 steps in chunks of 5: the last chunk has 3
    Recorder recorder{rnn.parameters(), {}};
    auto result = truncated_bptt<double>(task.length, {rnn.initial_state(2)},
                                         chunk_from_steps(optim_test::sine_step(rnn, task)),
                                         [&] { recorder(); }, {.k1 = 5});
    REQUIRE(recorder.windows.size() == 5);
    REQUIRE(result.losses.size() == 5);

    // Direct: one forward over the whole sequence, h detached every 5 steps,
    // the sum of all step losses, one backward.
    TensorD h = rnn.initial_state(2), loss;
    std::vector<double> window_losses(5, 0.0);
    for (std::size_t t = 0; t < task.length; ++t) {
      if (t > 0 && t % 5 == 0) h = h.detach();
      h = rnn.cell(task.inputs[t], h);
      TensorD error = rnn.head(h) - task.inputs[t + 1];
      TensorD step_loss = mean(error * error);
      window_losses[t / 5] += step_loss.item();
      loss = loss.defined() ? loss + step_loss : step_loss;
    }
    const xt::xarray<double> final_h = h.value();
    rnn.zero_grad();
    loss.backward();
    const GradList direct = grads_of(rnn.parameters());
    check_close(recorder.total(), direct);
    for (std::size_t w = 0; w < 5; ++w) CHECK(result.losses[w] == doctest::Approx(window_losses[w]).epsilon(1e-14));
    CHECK(bitwise_equal(result.final_state[0].value(), final_h));
    CHECK_FALSE(result.final_state[0].requires_grad());

    // The test can fail: without the detaches the gradient is a different one.
    TensorD h_full = rnn.initial_state(2), full_loss;
    for (std::size_t t = 0; t < task.length; ++t) {
      h_full = rnn.cell(task.inputs[t], h_full);
      TensorD error = rnn.head(h_full) - task.inputs[t + 1];
      full_loss = full_loss.defined() ? full_loss + mean(error * error) : mean(error * error);
    }
    rnn.zero_grad();
    full_loss.backward();
    const GradList full = grads_of(rnn.parameters());
    CHECK(std::abs(full[1](0, 0) - direct[1](0, 0)) > 1e-8);  // weight_hh
  }

  TEST_CASE("TBPTT(k1, k2): each update backpropagates its k1 losses k2 steps deep") {
    for (auto [k1, k2] : {std::pair<std::size_t, std::size_t>{5, 8}, {4, 12}, {3, 3}, {7, 9}}) {
      CAPTURE(k1);
      CAPTURE(k2);
      ElmanRNN<double> rnn(1, 3, 1, 5);
      SineTask<double> task(23, 2);
      Recorder recorder{rnn.parameters(), {}};
      auto result = truncated_bptt<double>(task.length, {rnn.initial_state(2)},
                                           chunk_from_steps(optim_test::sine_step(rnn, task)),
                                           [&] { recorder(); }, {.k1 = k1, .k2 = k2});

      // Direct: the states of an untruncated forward (the weights never change),
      // then per update u a tape from the detached state at max(0, t_{u-1} − (k2 − k1))
      // through t_u, differentiated for the losses of steps [t_{u-1}, t_u).
      std::vector<TensorD> states{rnn.initial_state(2)};
      {
        NoGradGuard no_grad;
        for (std::size_t t = 0; t < task.length; ++t) states.push_back(rnn.cell(task.inputs[t], states.back()));
      }
      std::vector<GradList> expected;
      for (std::size_t begin = 0; begin < task.length; begin += k1) {
        const std::size_t end = std::min(begin + k1, task.length);
        const std::size_t start = begin > k2 - k1 ? begin - (k2 - k1) : 0;
        TensorD h = states[start].detach(), loss;
        for (std::size_t t = start; t < end; ++t) {
          h = rnn.cell(task.inputs[t], h);
          TensorD error = rnn.head(h) - task.inputs[t + 1];
          if (t >= begin) loss = loss.defined() ? loss + mean(error * error) : mean(error * error);
        }
        GradList g;
        for (auto& tensor : grad<double>({loss}, rnn.parameters())) g.push_back(tensor.value());
        expected.push_back(g);
      }
      REQUIRE(recorder.windows.size() == expected.size());
      for (std::size_t u = 0; u < expected.size(); ++u) {
        CAPTURE(u);
        check_close(recorder.windows[u], expected[u]);
      }
      // The carried state is the forward's, however the windows overlap.
      CHECK(bitwise_equal(result.final_state[0].value(), states.back().value()));
    }
  }

  TEST_CASE("a forward-chunk callback gives the same gradients as the step function") {
    ElmanRNN<double> rnn(1, 3, 1, 3);
    SineTask<double> task(17, 2);
    // The chunk callback sums its steps' losses in the same order, so the tapes are identical.
    ForwardChunk<double> by_chunk = [&](std::size_t begin, std::size_t end, const RecurrentState<double>& state) {
      TensorD h = state[0], loss;
      for (std::size_t t = begin; t < end; ++t) {
        h = rnn.cell(task.inputs[t], h);
        TensorD error = rnn.head(h) - task.inputs[t + 1];
        loss = loss.defined() ? loss + mean(error * error) : mean(error * error);
      }
      return ChunkOutput<double>{{h}, loss};
    };
    Recorder a{rnn.parameters(), {}}, b{rnn.parameters(), {}};
    truncated_bptt<double>(task.length, {rnn.initial_state(2)}, by_chunk, [&] { a(); }, {.k1 = 4, .k2 = 6});
    truncated_bptt<double>(task.length, {rnn.initial_state(2)}, chunk_from_steps(optim_test::sine_step(rnn, task)),
                           [&] { b(); }, {.k1 = 4, .k2 = 6});
    REQUIRE(a.windows.size() == b.windows.size());
    for (std::size_t u = 0; u < a.windows.size(); ++u)
      for (std::size_t i = 0; i < a.windows[u].size(); ++i) CHECK(bitwise_equal(a.windows[u][i], b.windows[u][i]));
  }

  TEST_CASE("with an optimizer: the same as the hand-written stateful training loop, bit for bit") {
    ElmanRNN<double> driven(1, 4, 1, 9), manual(1, 4, 1, 9);
    SineTask<double> task(30, 3);
    SGD<double> driven_sgd(driven, {.lr = 0.05, .momentum = 0.9});
    SGD<double> manual_sgd(manual, {.lr = 0.05, .momentum = 0.9});
    auto result = truncated_bptt<double>(task.length, {driven.initial_state(3)},
                                         chunk_from_steps(optim_test::sine_step(driven, task)), driven_sgd,
                                         {.k1 = 6, .max_grad_norm = 0.5});
    // The loop TBPTT replaces: forward 6 steps from the detached state, backward,
    // clip, step, zero, carry the state on.
    TensorD h = manual.initial_state(3);
    for (std::size_t begin = 0; begin < task.length; begin += 6) {
      TensorD loss;
      for (std::size_t t = begin; t < begin + 6; ++t) {
        h = manual.cell(task.inputs[t], h);
        TensorD error = manual.head(h) - task.inputs[t + 1];
        loss = loss.defined() ? loss + mean(error * error) : mean(error * error);
      }
      loss.backward();
      clip_grad_norm_(manual.parameters(), 0.5);
      manual_sgd.step();
      manual_sgd.zero_grad();
      h = h.detach();
    }
    CHECK(result.losses.size() == 5);
    const auto a = driven.parameters(), b = manual.parameters();
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(bitwise_equal(a[i].value(), b[i].value()));
    CHECK(bitwise_equal(result.final_state[0].value(), h.value()));
  }

  TEST_CASE("a learnable initial state gets its gradient from the first window only") {
    ElmanRNN<double> rnn(1, 3, 1, 2);
    SineTask<double> task(10, 1);
    TensorD h0 = TensorD(xt::xarray<double>{{0.1, -0.2, 0.3}}).requires_grad_();
    int updates = 0;
    xt::xarray<double> first;
    truncated_bptt<double>(task.length, {h0}, chunk_from_steps(optim_test::sine_step(rnn, task)),
                           [&] {
                             ++updates;
                             if (updates == 1) first = h0.grad().value();
                             // later windows start from detached states: nothing more reaches h0
                             if (updates > 1) CHECK(bitwise_equal(h0.grad().value(), first));
                           },
                           {.k1 = 4});
    CHECK(updates == 3);
    // Direct: the first window's loss alone, differentiated with respect to h0.
    TensorD h = h0, loss;
    for (std::size_t t = 0; t < 4; ++t) {
      h = rnn.cell(task.inputs[t], h);
      TensorD error = rnn.head(h) - task.inputs[t + 1];
      loss = loss.defined() ? loss + mean(error * error) : mean(error * error);
    }
    const auto g = grad<double>({loss}, {h0});
    for (std::size_t j = 0; j < 3; ++j) CHECK(first(0, j) == doctest::Approx(g[0].value()(0, j)).epsilon(1e-14));
  }

  TEST_CASE("bad arguments throw") {
    ElmanRNN<double> rnn(1, 2, 1, 1);
    SineTask<double> task(5, 1);
    auto step = chunk_from_steps(optim_test::sine_step(rnn, task));
    auto nothing = [] {};
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(truncated_bptt<double>(5, {rnn.initial_state(1)}, step, nothing, {.k1 = 0}),
                         Contains("truncated_bptt: k1 must be >= 1"), Error);
    CHECK_THROWS_WITH_AS(truncated_bptt<double>(5, {rnn.initial_state(1)}, step, nothing, {.k1 = 3, .k2 = 2}),
                         Contains("k2 (backpropagation depth) must be >= k1, got k1=3, k2=2"), Error);
    ForwardChunk<double> drops_state = [&](std::size_t, std::size_t, const RecurrentState<double>&) {
      return ChunkOutput<double>{{}, TensorD()};
    };
    CHECK_THROWS_WITH_AS(truncated_bptt<double>(5, {rnn.initial_state(1)}, drops_state, nothing, {.k1 = 2}),
                         Contains("forward_chunk returned a state of 0 tensors for steps [0, 2), expected 1"), Error);
  }
}
