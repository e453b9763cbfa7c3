// Training step (forward over T, MSE on a per-step linear readout, backward; no
// optimizer) of a 1-layer tanh RNN, three ways in one binary:
//   tape      nn::RNN + nn::Linear on the tape (fused step nodes)
//   hand      the hand-derived BPTT (bptt/elman_bptt), no autograd
//   ops_loop  a loop of primitive ops on the tape (what a user's custom cell costs)
// and, in the full grid only, tape_generic: nn::RNN recording op by op (fused = false).
// The loss is the same for all: L = 1/(T·B) Σ_t Σ_b (o_tb − y_tb)², o_t = h_t Vᵀ + c.
#include <rewind/rewind.hpp>

#include "bench_common.hpp"
#include "bench_models.hpp"

namespace rwd::bench {

namespace {

template <class T>
void tape(benchmark::State& state, Config c, bool fused) {
  start_row();
  RnnTapeModel<T> model(Cell::rnn, c, fused);
  const double start = timer_seconds();
  for (auto _ : state) model.step();
  report_flops<T>(state, step_flops(Cell::rnn, c), timer_seconds() - start);
}

template <class T>
void hand(benchmark::State& state, Config c) {
  start_row();
  HandModel<T> model(c);
  const double start = timer_seconds();
  for (auto _ : state) model.step();
  report_flops<T>(state, step_flops(Cell::rnn, c), timer_seconds() - start);
}

template <class T>
void ops_loop(benchmark::State& state, Config c) {
  start_row();
  OpsLoopModel<T> model(Cell::rnn, c);
  const double start = timer_seconds();
  for (auto _ : state) model.step();
  report_flops<T>(state, step_flops(Cell::rnn, c), timer_seconds() - start);
}

template <class T>
void register_type() {
  for (const Config& c : configurations(Cell::rnn, sizeof(T) == 8)) {
    const char* dtype = dtype_name<T>();
    benchmark::RegisterBenchmark(row_name(Cell::rnn, dtype, c, "tape").c_str(), tape<T>, c, true)
        ->Unit(benchmark::kMillisecond);
    if (full_grid())
      benchmark::RegisterBenchmark(row_name(Cell::rnn, dtype, c, "tape_generic").c_str(), tape<T>, c, false)
          ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(row_name(Cell::rnn, dtype, c, "hand").c_str(), hand<T>, c)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(row_name(Cell::rnn, dtype, c, "ops_loop").c_str(), ops_loop<T>, c)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

void register_rnn() {
  register_type<float>();
  register_type<double>();
}

}  // namespace rwd::bench
