// nn::checkpointed_unroll and the checkpoint schedules: revolve's counts are
// the binomial formula's (and a brute-force minimum's), every schedule gives
// the plain tape's loss, final state and gradients (RNN/LSTM/GRU, stacked,
// bidirectional, with lengths, a user cell), and at T = 100,000 the tape's
// live nodes and the heap's live bytes stay far below one [T, B, H] output.
#include <doctest/doctest.h>

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xmath.hpp>

#include <rewind/autograd/node.hpp>  // live_nodes
#include <rewind/rewind.hpp>

#include "../examples/minimal_gated_unit.hpp"

using namespace rwd;

namespace {

// The fewest untaped units over every split, by exhaustive recursion: revolve's
// t(l, s) = min_m m + t(m, s) + t(l − m, s − 1), t(1, s) = 0, t(l > 1, 0) = ∞.
std::uint64_t brute_force_units(std::size_t l, std::size_t s, std::map<std::pair<std::size_t, std::size_t>, std::uint64_t>& memo) {
  if (l <= 1) return 0;
  if (s == 0) return std::numeric_limits<std::uint64_t>::max() / 4;
  auto [it, fresh] = memo.try_emplace({l, s}, 0);
  if (!fresh) return it->second;
  std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t m = 1; m < l; ++m) best = std::min(best, m + brute_force_units(m, s, memo) + brute_force_units(l - m, s - 1, memo));
  return memo[{l, s}] = best;
}

// max_i |a_i − b_i| / max_i |b_i|, the worst pair.
double relative_difference(const std::vector<xt::xarray<double>>& a, const std::vector<xt::xarray<double>>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].shape() == b[i].shape());
    const double scale = std::max(xt::amax(xt::abs(b[i]))(), 1e-300);
    worst = std::max(worst, xt::amax(xt::abs(a[i] - b[i]))() / scale);
  }
  return worst;
}

std::vector<xt::xarray<double>> take_grads(const std::vector<TensorD>& tensors) {
  std::vector<xt::xarray<double>> out;
  for (auto t : tensors) {
    REQUIRE(t.grad().defined());
    out.push_back(t.grad().value());
    t.zero_grad();
  }
  return out;
}

// A layer and its head; loss = Σ_t Σ (head(h_t) − y_t)² + Σ_k Σ final_state_k²
// (every output and state is used).
struct Problem {
  std::shared_ptr<nn::Recurrent<double>> layer;
  std::shared_ptr<nn::Linear<double>> head;
  TensorD x, y;
  std::vector<TensorD> initial;
  std::vector<std::size_t> lengths;

  std::vector<TensorD> differentiated() const {
    std::vector<TensorD> all = layer->parameters();
    for (const auto& p : head->parameters()) all.push_back(p);
    all.insert(all.end(), initial.begin(), initial.end());
    return all;
  }
  nn::Readout<double> readout() const {
    return {[this](std::size_t first, const TensorD& h) {
              return nn::mse_loss(head->forward(h), slice(y, 0, first, first + h.size(0)), nn::Reduction::Sum);
            },
            head->parameters()};
  }
  static TensorD with_states(TensorD loss, const std::vector<TensorD>& final_state) {
    for (const auto& s : final_state) loss = loss + sum(s * s);
    return loss;
  }
  // The plain tape: loss, final states, gradients.
  std::pair<std::vector<xt::xarray<double>>, std::vector<xt::xarray<double>>> plain() const {
    const auto out = layer->forward(x, initial, lengths);
    TensorD loss = with_states(nn::mse_loss(head->forward(out.output), y, nn::Reduction::Sum), out.final_state);
    loss.backward();
    std::vector<xt::xarray<double>> values{loss.value()};
    for (const auto& s : out.final_state) values.push_back(s.value());
    return {values, take_grads(differentiated())};
  }
  std::pair<std::vector<xt::xarray<double>>, std::vector<xt::xarray<double>>> checkpointed(
      const nn::CheckpointedUnrollOptions& options) const {
    const auto out = nn::checkpointed_unroll(*layer, x, readout(), options, initial, lengths);
    TensorD loss = with_states(out.loss, out.final_state);
    loss.backward();
    std::vector<xt::xarray<double>> values{loss.value()};
    for (const auto& s : out.final_state) values.push_back(s.value());
    return {values, take_grads(differentiated())};
  }
};

Problem make_problem(const std::string& kind, std::size_t layers, bool bidirectional, bool padded, bool fused,
                     std::size_t steps = 29) {
  Generator gen(5);
  const std::size_t batch = 3, hidden = 4, input = 2;
  const nn::RecurrentOptions o{.input_size = input, .hidden_size = hidden, .num_layers = layers,
                               .bidirectional = bidirectional, .fused = fused};
  Problem p;
  if (kind == "RNN") p.layer = std::make_shared<nn::RNN<double>>(o, gen);
  if (kind == "LSTM") p.layer = std::make_shared<nn::LSTM<double>>(o, gen);
  if (kind == "GRU") p.layer = std::make_shared<nn::GRU<double>>(o, gen);
  if (kind == "MGU")
    p.layer = std::make_shared<nn::Recurrent<double>>(
        o, [&](std::size_t in) { return std::make_shared<MinimalGatedUnit<double>>(in, hidden, gen); });
  const std::size_t directions = bidirectional ? 2 : 1;
  p.head = std::make_shared<nn::Linear<double>>(directions * hidden, 2, true, gen);
  p.x = randn<double>({steps, batch, input}, gen);
  p.y = randn<double>({steps, batch, 2}, gen);
  for (std::size_t k = 0; k < p.layer->cell(0).state_sizes().size(); ++k)
    p.initial.push_back(randn<double>({layers * directions, batch, hidden}, gen, true));
  if (padded) p.lengths = {steps, 11, 1};
  return p;
}

// Heap bytes in use (glibc), for the live-bytes bound.
std::int64_t heap_in_use() {
  const struct mallinfo2 info = mallinfo2();
  return static_cast<std::int64_t>(info.uordblks + info.hblkhd);
}

}  // namespace

TEST_SUITE("checkpointed unroll") {
  TEST_CASE("revolve's schedule recomputes the binomial formula's number of steps, the fewest possible") {
    // β(s, r) = C(s + r, s): a few values by hand.
    CHECK(binomial_capacity(1, 5) == 6);
    CHECK(binomial_capacity(3, 2) == 10);
    CHECK(binomial_capacity(32, 4) == 58905);
    std::map<std::pair<std::size_t, std::size_t>, std::uint64_t> memo;
    for (std::size_t s = 1; s <= 6; ++s)
      for (std::size_t l = 1; l <= 80; ++l) {
        CAPTURE(s);
        CAPTURE(l);
        const std::uint64_t optimum = brute_force_units(l, s, memo);
        CHECK(binomial_forward_units(l, s) == optimum);
        if (s > 1 || l <= 65) CHECK(binomial_schedule(l, s).recomputed_steps() == optimum);  // r <= 64
      }
    // Larger (T, s): the executed schedule's count against r·T − β(s + 1, r − 1).
    for (std::size_t s : {2, 3, 5, 8, 13, 32, 100})
      for (std::size_t steps : {2, 10, 99, 1000, 4097, 10000, 65536, 100000}) {
        CAPTURE(s);
        CAPTURE(steps);
        std::size_t r = 0;
        while (binomial_capacity(s, r) < steps) ++r;
        if (r > 60) continue;
        const std::uint64_t formula = std::uint64_t(r) * steps - binomial_capacity(s + 1, r - 1);
        CHECK(binomial_schedule(steps, s).recomputed_steps() == formula);
      }
    // The case: 32 slots, T = 10,000: r = 4 (β(32, 3) = 6545 < 10^4 <= 58905),
    // 4·10^4 − β(33, 3) = 40000 − 7140 = 32860.
    CHECK(binomial_schedule(10000, 32).recomputed_steps() == 32860);
    // A unit of u steps: the same count over ⌈T/u⌉ units, times u (T a multiple of u).
    CHECK(binomial_schedule(8000, 5, 8).recomputed_steps() == 8 * binomial_forward_units(1000, 5));
  }

  TEST_CASE("schedules chosen from slots and bytes; what they print; bad budgets named") {
    const CheckpointSchedule sqrt_t = schedule_for_slots(10000, 100);
    CHECK(sqrt_t.kind == CheckpointSchedule::Kind::segments);
    CHECK(sqrt_t.unit == 100);
    CHECK(sqrt_t.recomputed_steps() == 9900);  // every segment but the last runs twice
    CHECK(sqrt_t.describe() == "segments of 100 steps: 100 states kept at most, 9900 steps recomputed (0.99 per step)");
    const CheckpointSchedule revolve = schedule_for_slots(10000, 32);
    CHECK(revolve.kind == CheckpointSchedule::Kind::binomial);
    CHECK(revolve.describe() ==
          "binomial (revolve), 32 slots, units of 1 step: 32 states kept at most, 32860 steps recomputed (3.29 per step)");
    // 1 KB states, 10 KB per step: √T at T = 10^4 needs 100 KB + 1 MB.
    CHECK(schedule_for_budget(10000, 2'000'000, 1000, 10000).kind == CheckpointSchedule::Kind::segments);
    const CheckpointSchedule tight = schedule_for_budget(10000, 200'000, 1000, 10000);
    CHECK(tight.kind == CheckpointSchedule::Kind::binomial);
    CHECK(tight.slots * 1000 + tight.unit * 10000 <= 200'000);
    CHECK_THROWS_WITH_AS(schedule_for_budget(10000, 5000, 1000, 10000),
                         "checkpoint memory of 5000 bytes holds no schedule for 10000 steps (one state takes 1000 bytes, "
                         "one step's records about 10000; 10000 steps recomputed at most 64 times each need more)",
                         Error);
    CHECK_THROWS_WITH_AS(binomial_schedule(100000, 1),
                         "binomial_schedule: 1 slots for 100000 units would run each unit up to 99999 times (at most "
                         "64); give more slots or longer units",
                         Error);
    CHECK_THROWS_WITH_AS(binomial_schedule(10, 0), "binomial_schedule: slots (0) and unit (1) must be >= 1", Error);
  }

  TEST_CASE("every schedule gives the plain tape's loss, final state and gradients") {
    struct Case {
      std::string kind;
      std::size_t layers;
      bool bidirectional, padded, fused;
    };
    const std::vector<Case> cases{{"RNN", 1, false, false, true},  {"LSTM", 1, false, false, true},
                                  {"GRU", 1, false, false, true},  {"LSTM", 2, false, true, true},
                                  {"GRU", 2, false, true, false},  {"RNN", 1, true, false, true},
                                  {"LSTM", 2, true, true, true},   {"GRU", 1, true, true, false},
                                  {"MGU", 2, false, true, false},  {"MGU", 2, true, true, false}};
    for (const Case& c : cases) {
      const Problem p = make_problem(c.kind, c.layers, c.bidirectional, c.padded, c.fused);
      const auto [expected_values, expected_grads] = p.plain();
      std::vector<nn::CheckpointedUnrollOptions> schedules{{.segment = 1}, {.segment = 4}, {}, {.segment = 29}};
      if (!c.bidirectional)
        for (const auto& s : {binomial_schedule(29, 2), binomial_schedule(29, 3), binomial_schedule(29, 3, 2),
                              binomial_schedule(29, 40)})
          schedules.push_back({.schedule = s});
      for (const auto& options : schedules) {
        CAPTURE(c.kind);
        CAPTURE(c.layers);
        CAPTURE(c.bidirectional);
        CAPTURE(c.padded);
        CAPTURE(options.segment);
        CAPTURE(options.schedule ? options.schedule->describe() : std::string("segments"));
        const auto [values, grads] = p.checkpointed(options);
        CHECK(relative_difference(values, expected_values) < 1e-12);
        CHECK(relative_difference(grads, expected_grads) < 1e-12);
      }
    }
  }

  TEST_CASE("T = 100,000: live nodes and live bytes stay O(√T) or O(slots), far below one [T, B, H] output") {
    const std::size_t steps = 100000, batch = 2, hidden = 8;
    Generator gen(2);
    nn::LSTM<double> lstm({.input_size = 1, .hidden_size = hidden}, gen);
    nn::Linear<double> head(hidden, 1, true, gen);
    const TensorD x = randn<double>({steps, batch, 1}, gen), y = randn<double>({steps, batch, 1}, gen);
    std::int64_t heap_peak = 0;
    const nn::Readout<double> readout{[&](std::size_t first, const TensorD& h) {
                                        heap_peak = std::max(heap_peak, heap_in_use());
                                        return nn::mse_loss(head.forward(h), slice(y, 0, first, first + h.size(0)),
                                                            nn::Reduction::Sum);
                                      },
                                      head.parameters()};
    // One [T, B, H] float64 output: 12.8 MB; the plain tape holds several such per step.
    const std::int64_t output_bytes = steps * batch * hidden * 8;
    // √T segments, and revolve with 32 slots over units of 10 steps (10^4 units: r = 4).
    const std::vector<nn::CheckpointedUnrollOptions> schedules{{}, {.schedule = binomial_schedule(steps, 32, 10)}};
    for (const auto& options : schedules) {
      const std::int64_t nodes = detail::live_nodes(), heap = heap_in_use();
      detail::reset_peak_live_nodes();
      heap_peak = heap;
      std::string schedule;
      {
        auto out = nn::checkpointed_unroll(lstm, x, readout, options);
        schedule = out.schedule.describe();
        out.loss.backward();
      }
      const std::int64_t peak_nodes = detail::peak_live_nodes() - nodes, peak_bytes = heap_peak - heap;
      MESSAGE(schedule, ": peak ", peak_nodes, " live nodes, ", peak_bytes, " live bytes");
      for (auto p : lstm.parameters()) p.zero_grad();
      for (auto p : head.parameters()) p.zero_grad();
      CHECK(detail::live_nodes() == nodes);  // nothing left behind
      // √T: 317 segments' checkpoints and states (a few nodes each) plus one
      // segment's ~10 nodes per step: about 20·√T = 6,300; revolve: 32 slots
      // and a unit of 10 steps, a few hundred.
      CHECK(peak_nodes < (options.schedule ? 600 : 7000));
      // States (2·B·H·8 = 256 bytes each, 317 of them) and a segment's records
      // (~20 KB per step · 317 steps): a few MB; half an output is a loose bound.
      CHECK(peak_bytes < output_bytes / 2);
    }
  }

  TEST_CASE("checkpointed_unroll names what it cannot do") {
    Problem p = make_problem("LSTM", 1, false, false, true, 5);
    const auto run = [&](const TensorD& x, const nn::CheckpointedUnrollOptions& o = {},
                         const std::vector<std::size_t>& lengths = {}) {
      return nn::checkpointed_unroll(*p.layer, x, p.readout(), o, {}, lengths);
    };
    CHECK_THROWS_WITH_AS(run(randn<double>({5, 3})),
                         "checkpointed_unroll (LSTM): expected a non-empty input [time, batch, 2], got shape [5, 3]",
                         Error);
    CHECK_THROWS_WITH_AS(run(zeros<double>({5, 3, 2}, true)),
                         "checkpointed_unroll (LSTM): the input requires grad; it must be data (each piece's gradient "
                         "would be as long as the whole sequence): run Recurrent::forward with checkpoint_segment instead",
                         Error);
    CHECK_THROWS_WITH_AS(run(p.x, {}, {5, 6, 1}), "checkpointed_unroll (LSTM): lengths[1] = 6 is out of range [1, 5]",
                         Error);
    CHECK_THROWS_WITH_AS(run(p.x, {}, {5}),
                         "checkpointed_unroll (LSTM): lengths has 1 entries, expected one per sequence (3)", Error);
    CHECK_THROWS_WITH_AS(run(p.x, {.schedule = binomial_schedule(6, 2)}),
                         "checkpointed_unroll: the schedule is for 6 steps, the input has 5", Error);
    CHECK_THROWS_WITH_AS(nn::checkpointed_unroll(*p.layer, p.x, nn::Readout<double>{}),
                         "checkpointed_unroll (LSTM): the readout has no loss function", Error);
    Problem bi = make_problem("GRU", 1, true, false, true, 5);
    CHECK_THROWS_WITH_AS(nn::checkpointed_unroll(*bi.layer, bi.x, bi.readout(), {.schedule = binomial_schedule(5, 2)}),
                         "checkpointed_unroll (GRU): a bidirectional layer runs in segments only; the schedule is "
                         "binomial (revolve), 2 slots, units of 1 step: 2 states kept at most, 6 steps recomputed "
                         "(1.20 per step)",
                         Error);
    Generator gen(1);
    nn::LSTM<double> dropped({.input_size = 2, .hidden_size = 4, .num_layers = 2, .dropout = 0.5}, gen);
    CHECK_THROWS_WITH_AS(nn::checkpointed_unroll(dropped, p.x, p.readout()),
                         "checkpointed_unroll (LSTM): dropout between layers in training mode is not supported (its "
                         "masks would be as long as the sequence); call eval() or set dropout to 0",
                         Error);
    CHECK_THROWS_WITH_AS(nn::checkpointed_unroll(*p.layer, p.x, p.readout(), {}, {zeros<double>({2, 3, 4})}),
                         "checkpointed_unroll: initial state 0 has shape [2, 3, 4], expected [1, 3, 4]", Error);
  }
}
