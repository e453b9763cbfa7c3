// Tiny-op overhead: a chain of 1,000 elementwise multiplications on 1-element
// and 4×4 tensors, forward (recording) and backward, each timed on its own and
// reported per op (time_tiny_chain in bench_common.hpp).
#include <rewind/rewind.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

void tiny_op_chain(benchmark::State& state, std::size_t side) {
  Generator gen(1);
  auto x = randn<float>({side, side}, gen, true);
  const auto factor = full<float>({side, side}, 1.0001f);
  time_tiny_chain(
      state,
      [&] {
        TensorF y = x;
        for (int i = 0; i < tiny_chain_length; ++i) y = y * factor;
        return sum(y);
      },
      [](TensorF& loss) { loss.backward(); }, [&] { x.zero_grad(); });
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
