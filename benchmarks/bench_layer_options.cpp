// The layer options that used to leave the fused path (issue 12): variable
// lengths and checkpointing over time, each fused and op by op (fused = false),
// beside the plain fused layer, for the LSTM and the RNN, float.
//   tape_plain              plain: every sequence runs all T steps, every step on the tape
//   tape_lengths[_generic]  half the batch ends at T/2 (lengths)
//   tape_ckpt[_generic]     checkpoint_segment = ⌈√T⌉
#include <cmath>

#include <rewind/rewind.hpp>

#include "bench_common.hpp"
#include "bench_models.hpp"

namespace rwd::bench {

namespace {

template <class T>
void layer(benchmark::State& state, Cell cell, Config c, bool fused, std::size_t segment, bool ragged) {
  std::vector<std::size_t> lengths;
  if (ragged)
    for (long b = 0; b < c.B; ++b) lengths.push_back(std::size_t(b % 2 ? c.T / 2 : c.T));
  start_row();
  RnnTapeModel<T> model(cell, c, fused, segment, lengths);
  const double start = timer_seconds();
  for (auto _ : state) model.step();
  report_flops<T>(state, step_flops(cell, c), timer_seconds() - start);
}

}  // namespace

void register_layer_options() {
  for (Cell cell : {Cell::rnn, Cell::lstm})
    for (const Config c : {Config{1, 200, 64}, Config{32, 50, 128}, Config{32, 200, 512}}) {
      const auto segment = std::size_t(std::ceil(std::sqrt(double(c.T))));
      auto add = [&](const char* what, bool fused, std::size_t k, bool ragged) {
        benchmark::RegisterBenchmark(row_name(cell, "f32", c, what).c_str(), layer<float>, cell, c, fused, k, ragged)
            ->Unit(benchmark::kMillisecond);
      };
      add("tape_plain", true, 0, false);
      add("tape_lengths", true, 0, true);
      add("tape_lengths_generic", false, 0, true);
      add("tape_ckpt", true, segment, false);
      add("tape_ckpt_generic", false, segment, false);
    }
}

}  // namespace rwd::bench
