// The GEMM reference: C = A B at M = N = K = 512 through the same BLAS call
// the engine uses (rwd::blas::gemm, one thread). Every training-step row's
// pct_gemm is its GFLOP/s against this row's rate of the same run.
#include <vector>

#include <rewind/autograd/blas.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

constexpr std::size_t gemm_size = 512;
constexpr double gemm_flops = 2.0 * gemm_size * gemm_size * gemm_size;

template <class T>
struct GemmOperands {
  std::vector<T> a = std::vector<T>(gemm_size * gemm_size, T(0.5)), b = a, c = a;
  void run() {
    blas::gemm(false, false, gemm_size, gemm_size, gemm_size, T(1), a.data(), gemm_size, b.data(), gemm_size, T(0),
               c.data(), gemm_size);
  }
};

template <class T>
void gemm_reference(benchmark::State& state) {
  GemmOperands<T> operands;
  operands.run();  // warm-up: OpenBLAS allocates its buffers on first use
  const double start = timer_seconds();
  for (auto _ : state) {
    operands.run();
    benchmark::DoNotOptimize(operands.c.data());
  }
  const double gflops = gemm_flops * static_cast<double>(state.iterations()) / (timer_seconds() - start) / 1e9;
  set_gemm_rate<T>(gflops);
  state.counters["GFLOPs"] = gflops;
}

}  // namespace

// Used when the gemm/ rows were filtered out: about 0.3 s of the same GEMM.
double measure_gemm_rate(bool is_double) {
  auto measure = [](auto operands) {
    operands.run();
    const double start = timer_seconds();
    long runs = 0;
    while (timer_seconds() - start < 0.3) {
      operands.run();
      ++runs;
    }
    return gemm_flops * static_cast<double>(runs) / (timer_seconds() - start) / 1e9;
  };
  return is_double ? measure(GemmOperands<double>{}) : measure(GemmOperands<float>{});
}

void register_gemm() {
  benchmark::RegisterBenchmark("gemm/f32/M=512/N=512/K=512", gemm_reference<float>)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("gemm/f64/M=512/N=512/K=512", gemm_reference<double>)->Unit(benchmark::kMillisecond);
}

}  // namespace rwd::bench
