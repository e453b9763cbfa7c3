// Memory of one training step of the tanh RNN (the second step: the first one
// warms up BLAS and caches), counted by allocation_counter:
//   tape_bytes       held after forward + loss: what the tape keeps for backward
//   tape_peak_bytes  the highest point over forward, loss and backward
//   hand_bytes       the hand BPTT's trace (a_t, h_t, o_t: activations only)
//   hand_peak_bytes  the highest point over the hand forward, loss and backward
//   ratio            tape_bytes / hand_bytes;  peak_ratio likewise
//   ops_loop_bytes   held by a loop of primitive ops (for comparison)
// and, for the fused layers and the loops of ops (rnn/lstm/gru/mgu …/allocs),
//   allocs_per_step  heap blocks allocated per training step after 20 warm-up
//                    steps (the cache's limits adapt to demand over the first
//                    few; mean over 5 steps): 0 is the target
// One iteration per row; the time column means nothing here.
#ifdef REWIND_COUNT_ALLOCATIONS
#include "allocation_counter.hpp"
#endif
#include "bench_common.hpp"
#include "bench_models.hpp"

namespace rwd::bench {

#ifdef REWIND_COUNT_ALLOCATIONS
namespace {

// Bytes held right after forward (forward() returns what backward needs: the
// loss and its graph, or the hand trace), on the second call. The tape's
// caches are emptied first: the counter sees malloc, not a buffer the cache
// hands out again; a step's peak then includes what the cache keeps (the
// process's footprint).
template <class Model>
double held_after_forward(Model& model) {
  model.step();  // warm-up
  detail::release_cached_memory();
  allocation_counter::start();
  double held = 0;
  {
    const auto kept = model.forward();
    // less what entered the array cache meanwhile (buffers freed during
    // forward, such as the input projection: the process keeps them for the
    // next step, the tape does not hold them)
    held = static_cast<double>(allocation_counter::live_bytes()) - static_cast<double>(detail::cached_array_bytes());
  }
  allocation_counter::stop();
  return held;
}

// The highest point of live bytes over a whole training step.
template <class Model>
double step_peak(Model& model) {
  model.step();  // warm-up
  detail::release_cached_memory();
  allocation_counter::start();
  model.step();
  const auto peak = static_cast<double>(allocation_counter::peak_bytes());
  allocation_counter::stop();
  return peak;
}

template <class T>
void rnn_memory(benchmark::State& state, Config c) {
  for (auto _ : state) {
    RnnTapeModel<T> tape(Cell::rnn, c);
    OpsLoopModel<T> ops(Cell::rnn, c);
    HandModel<T> hand(c);
    const double tape_bytes = held_after_forward(tape), hand_bytes = held_after_forward(hand);
    const double tape_peak = step_peak(tape), hand_peak = step_peak(hand);
    state.counters["tape_bytes"] = tape_bytes;
    state.counters["tape_peak_bytes"] = tape_peak;
    state.counters["ops_loop_bytes"] = held_after_forward(ops);
    state.counters["hand_bytes"] = hand_bytes;
    state.counters["hand_peak_bytes"] = hand_peak;
    state.counters["ratio"] = tape_bytes / hand_bytes;
    state.counters["peak_ratio"] = tape_peak / hand_peak;
  }
}

template <class Model>
void allocations_per_step(benchmark::State& state, Cell cell, Config c) {
  for (auto _ : state) {
    start_row();
    Model model(cell, c);
    for (int i = 0; i < 20; ++i) model.step();
    allocation_counter::start();
    constexpr int steps = 5;
    for (int i = 0; i < steps; ++i) model.step();
    allocation_counter::stop();
    state.counters["allocs_per_step"] = static_cast<double>(allocation_counter::allocations()) / steps;
  }
}

}  // namespace

void register_memory() {
  const Config small{1, 50, 32}, large{32, 50, 128};
  for (const Config& c : {small, large}) {
    for (Cell cell : {Cell::rnn, Cell::lstm, Cell::gru})
      benchmark::RegisterBenchmark(row_name(cell, "f32", c, "allocs_tape").c_str(),
                                   allocations_per_step<RnnTapeModel<float>>, cell, c)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
    for (Cell cell : {Cell::rnn, Cell::mgu})
      benchmark::RegisterBenchmark(row_name(cell, "f32", c, "allocs_ops_loop").c_str(),
                                   allocations_per_step<OpsLoopModel<float>>, cell, c)
          ->Iterations(1)
          ->Unit(benchmark::kMillisecond);
  }
  for (const Config& c : std::vector<Config>{{1, 50, 32}, {32, 200, 128}, {64, 200, 512}})
    benchmark::RegisterBenchmark(row_name(Cell::rnn, "f32", c, "memory").c_str(), rnn_memory<float>, c)
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
}
#else
void register_memory() {}
#endif

}  // namespace rwd::bench
