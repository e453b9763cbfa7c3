#include "bench_common.hpp"

#include <cstdio>

namespace rwd::bench {

namespace {
bool full = false;
int threads = 1;
double gemm_rate_f32 = 0, gemm_rate_f64 = 0;
}  // namespace

bool full_grid() { return full; }
void set_full_grid(bool on) { full = on; }
int thread_count() { return threads; }
void set_thread_count(int count) { threads = count; }

double timer_seconds() {
  timespec ts{};
  clock_gettime(threads > 1 ? CLOCK_MONOTONIC : CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Default subset (a few minutes on one core): float at B ∈ {1, 32}, T = 50,
// H ∈ {32, 128, 512}, plus B=1/T=200/H=128, B=32/T=200/H=512 (the issue's
// GEMM-bound target) and the largest configuration B=64/T=200/H=512 once; double at two sizes. LSTM and GRU: float at four
// sizes, double at one. Full grid: every B × T × H for the RNN (both types)
// and for float LSTM/GRU; double LSTM/GRU at three sizes.
std::vector<Config> configurations(Cell cell, bool is_double) {
  std::vector<Config> out;
  if (full) {
    for (long B : {1, 32, 64})
      for (long T : {50, 200})
        for (long H : {32, 128, 512}) out.push_back({B, T, H});
    if (cell == Cell::rnn || cell == Cell::mgu || !is_double) return out;
    return {{1, 50, 32}, {32, 50, 128}, {32, 200, 512}};
  }
  if (is_double && cell == Cell::rnn) return {{1, 50, 32}, {32, 50, 128}};
  if (is_double) return {{32, 50, 128}};
  if (cell == Cell::rnn || cell == Cell::mgu)
    return {{1, 50, 32},  {1, 50, 128},  {1, 50, 512},   {32, 50, 32},
            {32, 50, 128}, {32, 50, 512}, {1, 200, 128}, {32, 200, 512}, {64, 200, 512}};
  return {{1, 50, 32}, {32, 50, 128}, {32, 50, 512}, {64, 200, 512}};
}

std::string row_name(Cell cell, const char* dtype, const Config& c, const char* method) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s/%s/B=%ld/T=%ld/H=%ld/%s", cell_name(cell), dtype, c.B, c.T, c.H, method);
  return buf;
}

double step_flops(Cell cell, const Config& c) {
  const double B = static_cast<double>(c.B), T = static_cast<double>(c.T), H = static_cast<double>(c.H);
  const double gH = cell_gates(cell) * H;
  const double forward = 2 * B * gH * H + 2 * B * gH * H + 2 * B * H;
  const double backward = 2 * B * gH * H + 4 * B * gH * H + 4 * B * H;
  return T * (forward + backward);
}

template <class T>
void set_gemm_rate(double gflops) {
  (sizeof(T) == 4 ? gemm_rate_f32 : gemm_rate_f64) = gflops;
}

double measure_gemm_rate(bool is_double);  // bench_gemm.cpp

template <class T>
double gemm_rate() {
  double& rate = sizeof(T) == 4 ? gemm_rate_f32 : gemm_rate_f64;
  if (rate <= 0) rate = measure_gemm_rate(sizeof(T) == 8);
  return rate;
}

template <class T>
void report_flops(benchmark::State& state, double flops_per_iteration, double seconds) {
  const double gflops = flops_per_iteration * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GFLOPs"] = gflops;
  state.counters["pct_gemm"] = 100.0 * gflops / gemm_rate<T>();
}

template double gemm_rate<float>();
template double gemm_rate<double>();
template void set_gemm_rate<float>(double);
template void set_gemm_rate<double>(double);
template void report_flops<float>(benchmark::State&, double, double);
template void report_flops<double>(benchmark::State&, double, double);

}  // namespace rwd::bench
