// The LSTM and GRU training steps (same loss and readout as bench_rnn.cpp):
//   tape      nn::LSTM / nn::GRU + nn::Linear on the tape
//   ops_loop  the cell's equations as a loop of primitive ops on the tape
// There is no hand-derived BPTT for the gated cells; compare tape with torch.
// The minimal gated unit (mgu/…) runs only as ops_loop: a user's own cell.
#include "bench_common.hpp"
#include "bench_models.hpp"

namespace rwd::bench {

namespace {

template <class T>
void run(benchmark::State& state, Cell cell, Config c, bool ops) {
  start_row();
  auto body = [&](auto& model) {
    const double start = timer_seconds();
    for (auto _ : state) model.step();
    report_flops<T>(state, step_flops(cell, c), timer_seconds() - start);
  };
  if (ops) {
    OpsLoopModel<T> model(cell, c);
    body(model);
  } else {
    RnnTapeModel<T> model(cell, c);
    body(model);
  }
}

template <class T>
void register_type(Cell cell) {
  for (const Config& c : configurations(cell, sizeof(T) == 8)) {
    const char* dtype = dtype_name<T>();
    benchmark::RegisterBenchmark(row_name(cell, dtype, c, "tape").c_str(), run<T>, cell, c, false)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(row_name(cell, dtype, c, "ops_loop").c_str(), run<T>, cell, c, true)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

// A user's own cell (examples/minimal_gated_unit.hpp) as a loop of ops, at the
// RNN's grid sizes; bench_torch.cpp adds the same loop in libtorch.
void register_custom_cell() {
  for (const Config& c : configurations(Cell::mgu, false))
    benchmark::RegisterBenchmark(row_name(Cell::mgu, "f32", c, "ops_loop").c_str(), run<float>, Cell::mgu, c, true)
        ->Unit(benchmark::kMillisecond);
}

void register_gated() {
  for (Cell cell : {Cell::lstm, Cell::gru}) {
    register_type<float>(cell);
    register_type<double>(cell);
  }
}

}  // namespace rwd::bench
