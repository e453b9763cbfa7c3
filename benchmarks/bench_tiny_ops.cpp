// Tiny-op overhead: a chain of 1,000 elementwise multiplications on 1-element
// and 4×4 tensors, forward (recording) and backward, each timed on its own and
// reported per op: counters fwd_us_per_op, bwd_us_per_op, us_per_op (both).
// The row's time is one whole chain, forward + backward (manual time).
#include <chrono>

#include <rewind/rewind.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

constexpr int chain_length = 1000;

void tiny_op_chain(benchmark::State& state, std::size_t side) {
  using clock = std::chrono::steady_clock;
  Generator gen(1);
  auto x = randn<float>({side, side}, gen, true);
  const auto factor = full<float>({side, side}, 1.0001f);
  double forward_seconds = 0, backward_seconds = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    TensorF y = x;
    for (int i = 0; i < chain_length; ++i) y = y * factor;
    auto loss = sum(y);
    const auto t1 = clock::now();
    loss.backward();
    const auto t2 = clock::now();
    x.zero_grad();
    benchmark::DoNotOptimize(loss.data());
    const double f = std::chrono::duration<double>(t1 - t0).count(), b = std::chrono::duration<double>(t2 - t1).count();
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
