// Tiny-op overhead: a chain of 1,000 elementwise multiplications on 1-element
// and 4×4 tensors, forward (recording) and backward, each timed on its own and
// reported per op: counters fwd_us_per_op, bwd_us_per_op, us_per_op (both).
// The row's time is one whole chain, forward + backward (manual time,
// timer_seconds(), like every other row's rates).
#include <rewind/rewind.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

constexpr int chain_length = 1000;

void tiny_op_chain(benchmark::State& state, std::size_t side) {
  Generator gen(1);
  auto x = randn<float>({side, side}, gen, true);
  const auto factor = full<float>({side, side}, 1.0001f);
  double forward_seconds = 0, backward_seconds = 0;
  for (auto _ : state) {
    const double t0 = timer_seconds();
    TensorF y = x;
    for (int i = 0; i < chain_length; ++i) y = y * factor;
    auto loss = sum(y);
    const double t1 = timer_seconds();
    loss.backward();
    const double t2 = timer_seconds();
    x.zero_grad();
    benchmark::DoNotOptimize(loss.data());
    const double f = t1 - t0, b = t2 - t1;
    forward_seconds += f;
    backward_seconds += b;
    state.SetIterationTime(f + b);
  }
  const double ops = static_cast<double>(state.iterations()) * chain_length;
  state.counters["fwd_us_per_op"] = 1e6 * forward_seconds / ops;
  state.counters["bwd_us_per_op"] = 1e6 * backward_seconds / ops;
  state.counters["us_per_op"] = 1e6 * (forward_seconds + backward_seconds) / ops;
}

}  // namespace

void register_tiny_ops() {
  benchmark::RegisterBenchmark("tiny/f32/1x1/tape", tiny_op_chain, std::size_t(1))
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("tiny/f32/4x4/tape", tiny_op_chain, std::size_t(4))
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

}  // namespace rwd::bench
