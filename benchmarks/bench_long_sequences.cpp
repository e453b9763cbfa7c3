// Full BPTT over long sequences (issue 27): one training step of an LSTM
// (float64, B = 8, H = 64, one layer, a Linear head and the mean squared
// error at every step), T ∈ {10^3, 10^4, 10^5}:
//   plain      Recurrent::forward, the head on its [T, B, H] output: every step on the tape
//   sqrt       nn::checkpointed_unroll, ⌈√T⌉-step segments
//   revolve32  nn::checkpointed_unroll, revolve with 32 slots over single steps
// Counters: peak_bytes, the heap's highest point over the step (allocation_counter;
// not under sanitizers), recomputed (steps run again per step of T), and
// seconds per step. plain at T = 10^5 is left out: about 5 GB.
#include <rewind/rewind.hpp>

#ifdef REWIND_COUNT_ALLOCATIONS
#include "allocation_counter.hpp"
#endif
#include "bench_common.hpp"
#include "bench_models.hpp"

namespace rwd::bench {

namespace {

enum class Method { plain, sqrt, revolve32 };

// One step: forward, loss, backward (the gradients are left in the parameters).
void long_step(nn::LSTM<double>& lstm, nn::Linear<double>& head, const TensorD& x, const TensorD& y, Method method) {
  const std::size_t steps = x.size(0);
  TensorD loss;
  if (method == Method::plain) {
    loss = nn::mse_loss(head.forward(lstm.forward(x).output), y);
  } else {
    const nn::Readout<double> readout{[&](std::size_t first, const TensorD& h) {
                                        return nn::mse_loss(head.forward(h), slice(y, 0, first, first + h.size(0))) *
                                               (double(h.size(0)) / double(steps));
                                      },
                                      head.parameters()};
    const CheckpointSchedule schedule =
        method == Method::sqrt ? segment_schedule(steps) : binomial_schedule(steps, 32);
    loss = nn::checkpointed_unroll(lstm, x, readout, {.schedule = schedule}).loss;
  }
  loss.backward();
  for (auto p : lstm.parameters()) p.zero_grad();
  for (auto p : head.parameters()) p.zero_grad();
}

void long_sequence(benchmark::State& state, long steps, Method method) {
  Generator gen(1);
  nn::LSTM<double> lstm({.input_size = 1, .hidden_size = 64}, gen);
  nn::Linear<double> head(64, 1, true, gen);
  const TensorD x = randn<double>({std::size_t(steps), 8, 1}, gen), y = randn<double>({std::size_t(steps), 8, 1}, gen);
  start_row();
#ifdef REWIND_COUNT_ALLOCATIONS
  allocation_counter::start();
#endif
  const double start = timer_seconds();
  for (auto _ : state) long_step(lstm, head, x, y, method);
  state.counters["seconds_per_step"] = (timer_seconds() - start) / double(state.iterations());
#ifdef REWIND_COUNT_ALLOCATIONS
  state.counters["peak_bytes"] = static_cast<double>(allocation_counter::peak_bytes());
  allocation_counter::stop();
#endif
  if (method != Method::plain) {
    const CheckpointSchedule s = method == Method::sqrt ? segment_schedule(steps) : binomial_schedule(steps, 32);
    state.counters["recomputed"] = double(s.recomputed_steps()) / double(steps);
  }
}

}  // namespace

void register_long_sequences() {
  for (long steps : {1000L, 10000L, 100000L})
    for (const auto& [method, name] : {std::pair{Method::plain, "plain"}, std::pair{Method::sqrt, "sqrt"},
                                       std::pair{Method::revolve32, "revolve32"}}) {
      if (method == Method::plain && steps > 10000) continue;
      const std::string row = row_name(Cell::lstm, "f64", Config{8, steps, 64}, (std::string("long_") + name).c_str());
      benchmark::RegisterBenchmark(row.c_str(), long_sequence, steps, method)
          ->Unit(benchmark::kMillisecond)
          ->Iterations(steps >= 10000 ? 1 : 3);
    }
}

}  // namespace rwd::bench
