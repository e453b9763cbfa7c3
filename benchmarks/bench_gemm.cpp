// The GEMM reference: C = A B at M = N = K = 512 through the same BLAS call
// the engine uses (rwd::blas::gemm, one thread). Every training-step row's
// pct_gemm is its GFLOP/s against this row's rate of the same run. The rows
// at M = 32 and 64 are one recurrent step's product at B = M, H = 512 (the
// forward h_{t-1} W_hhᵀ and its backward's g W_hh have this shape): the rate
// a step of the training-step rows can reach at best.
#include <string>
#include <vector>

#include <rewind/autograd/blas.hpp>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

constexpr std::size_t gemm_size = 512;

// C [m, 512] = A [m, 512] B [512, 512].
template <class T>
struct GemmOperands {
  std::size_t m = gemm_size;
  std::vector<T> a = std::vector<T>(m * gemm_size, T(0.5)), b = std::vector<T>(gemm_size * gemm_size, T(0.5)), c = a;
  double flops() const { return 2.0 * double(m) * gemm_size * gemm_size; }
  void run() {
    blas::gemm(false, false, m, gemm_size, gemm_size, T(1), a.data(), gemm_size, b.data(), gemm_size, T(0),
               c.data(), gemm_size);
  }
};

template <class T>
void gemm_rate(benchmark::State& state, std::size_t m) {
  GemmOperands<T> operands{m};
  operands.run();  // warm-up: OpenBLAS allocates its buffers on first use
  const double start = timer_seconds();
  for (auto _ : state) {
    operands.run();
    benchmark::DoNotOptimize(operands.c.data());
  }
  const double gflops = operands.flops() * static_cast<double>(state.iterations()) / (timer_seconds() - start) / 1e9;
  if (m == gemm_size) set_gemm_rate<T>(gflops);
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
    return operands.flops() * static_cast<double>(runs) / (timer_seconds() - start) / 1e9;
  };
  return is_double ? measure(GemmOperands<double>{}) : measure(GemmOperands<float>{});
}

void register_gemm() {
  for (std::size_t m : {gemm_size, std::size_t(32), std::size_t(64)}) {
    const std::string shape = "/M=" + std::to_string(m) + "/N=512/K=512";
    benchmark::RegisterBenchmark(("gemm/f32" + shape).c_str(), [m](benchmark::State& s) { gemm_rate<float>(s, m); })
        ->Unit(benchmark::kMillisecond);
    if (m == gemm_size)
      benchmark::RegisterBenchmark(("gemm/f64" + shape).c_str(), [m](benchmark::State& s) { gemm_rate<double>(s, m); })
          ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace rwd::bench
