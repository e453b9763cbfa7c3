// Tiny-op overhead: a chain of 1,000 elementwise multiplications on 1-element
// and 4x4 tensors, forward and backward; reported per op.
#include <benchmark/benchmark.h>

#include <rewind/rewind.hpp>

namespace {

constexpr int chain_length = 1000;

void tiny_op_chain(benchmark::State& state) {
  const std::size_t side = static_cast<std::size_t>(state.range(0));
  rwd::Generator gen(1);
  auto x = rwd::randn<float>({side, side}, gen, true);
  const auto factor = rwd::full<float>({side, side}, 1.0001f);
  for (auto _ : state) {
    rwd::TensorF y = x;
    for (int i = 0; i < chain_length; ++i) y = y * factor;
    auto loss = rwd::sum(y);
    loss.backward();
    x.zero_grad();
    benchmark::DoNotOptimize(loss.data());
  }
  // items = ops, so items_per_second inverts to time per op (forward + backward).
  state.SetItemsProcessed(state.iterations() * chain_length);
  state.counters["us_per_op"] = benchmark::Counter(static_cast<double>(state.iterations()) * chain_length,
                                                   benchmark::Counter::kIsRate | benchmark::Counter::kInvert,
                                                   benchmark::Counter::kIs1000);
}

}  // namespace

BENCHMARK(tiny_op_chain)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);
