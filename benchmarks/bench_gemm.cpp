// The GEMM reference: C = A B at M = N = K = 512 through the same BLAS call
// the engine uses (rwd::blas::gemm, one thread). Every training-step row's
// pct_gemm is its GFLOP/s against this row's rate of the same run. The rows
// at M = 32 and 64 are one recurrent step's product at B = M, H = 512 (the
// forward h_{t-1} W_hhᵀ and its backward's g W_hh have this shape): the rate
// a step of the training-step rows can reach at best.
#include <string>
#include <utility>
#include <vector>

#include <rewind/autograd/blas.hpp>
#include <rewind/autograd/threads.hpp>

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

// A sequence-wide product of a layer at H = 512 with G = 4 gates (LSTM),
// over rows = T·B: the input projection x W_ihᵀ [rows, 2048] (B transposed),
// the input gradient g W_ih [rows, 512], the weight gradient gᵀ x [2048, 512]
// (A transposed, K = rows).
struct SequenceProduct {
  const char* name;
  bool ta, tb;
  std::size_t m, n, k;
};

std::vector<SequenceProduct> sequence_products(std::size_t rows) {
  return {{"x_WT", false, true, rows, 2048, 512}, {"g_W", false, false, rows, 512, 2048},
          {"gT_x", true, false, 2048, 512, rows}};
}

// route: how blas::gemm computes it (by_shape is the library's own choice).
template <class T>
void sequence_rate(benchmark::State& state, SequenceProduct p, blas::detail::Route route, std::size_t threads) {
  std::vector<T> a(p.m * p.k, T(0.5)), b(p.k * p.n, T(0.25)), c(p.m * p.n);
  const std::size_t lda = p.ta ? p.m : p.k, ldb = p.tb ? p.k : p.n;
  set_num_threads(threads);
  blas::detail::set_route(route);
  auto run = [&] { blas::gemm(p.ta, p.tb, p.m, p.n, p.k, T(1), a.data(), lda, b.data(), ldb, T(0), c.data(), p.n); };
  run();
  const double start = timer_seconds();
  for (auto _ : state) {
    run();
    benchmark::DoNotOptimize(c.data());
  }
  const double seconds = timer_seconds() - start;
  blas::detail::set_route(blas::detail::Route::by_shape);
  set_num_threads(std::size_t(thread_count()));  // the other rows' (REWIND_BENCH_THREADS)
  state.counters["GFLOPs"] = 2.0 * double(p.m) * double(p.n) * double(p.k) * double(state.iterations()) / seconds / 1e9;
}

void register_sequence_products() {
  using blas::detail::Route;
  const std::pair<const char*, Route> routes[] = {{"openblas", Route::openblas}, {"blocked", Route::blocked},
                                                 {"by_shape", Route::by_shape}};
  for (std::size_t rows : {std::size_t(1600), std::size_t(12800)})
    for (const SequenceProduct& p : sequence_products(rows))
      for (const auto& [route_name, route] : routes)
        for (std::size_t threads : {std::size_t(1), std::size_t(2)}) {
          if (route == Route::openblas && threads > 1) continue;  // OpenBLAS's threads: OPENBLAS_NUM_THREADS
          const std::string name = "gemm_seq/f32/" + std::string(p.name) + "/M=" + std::to_string(p.m) +
                                   "/N=" + std::to_string(p.n) + "/K=" + std::to_string(p.k) + "/" + route_name +
                                   "/threads=" + std::to_string(threads);
          benchmark::RegisterBenchmark(name.c_str(), [p, route, threads](benchmark::State& s) {
            sequence_rate<float>(s, p, route, threads);
          })->Unit(benchmark::kMillisecond);
        }
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
  register_sequence_products();
}

}  // namespace rwd::bench
