// What the benchmark files share: the configurations (default subset and full
// grid), row names, matmul-FLOP counting, a CPU timer, and the GEMM rate of
// this run that every row is compared against.
//
// Rows are named so ratios read off directly, e.g.
//   rnn/f32/B=32/T=200/H=512/tape   …/hand   …/ops_loop   …/torch   …/torch_ops_loop
// and the summary tool (bench_summary.cpp) pairs them by everything before the
// last '/'.
#pragma once

#include <benchmark/benchmark.h>

#include <ctime>
#include <string>
#include <vector>

namespace rwd::bench {

// One training-step configuration: batch, timesteps, hidden size (= input size).
struct Config {
  long B, T, H;
};

// The cells benchmarked; gates = how many H-wide blocks the cell's input
// weights have. mgu is examples/minimal_gated_unit.hpp, a user's own cell: it
// runs only as a loop of ops (ops_loop, torch_ops_loop); its two H×H recurrent
// products count as gates = 2 in step_flops as well.
enum class Cell { rnn, lstm, gru, mgu };
inline const char* cell_name(Cell cell) {
  return cell == Cell::rnn ? "rnn" : cell == Cell::lstm ? "lstm" : cell == Cell::gru ? "gru" : "mgu";
}
inline double cell_gates(Cell cell) {
  return cell == Cell::rnn ? 1 : cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 2;
}

template <class T>
const char* dtype_name() {
  return sizeof(T) == 4 ? "f32" : "f64";
}

// Set once by main(): the full grid (--full or REWIND_BENCH_FULL=1) or the default subset.
bool full_grid();
void set_full_grid(bool on);
// Set once by main() from REWIND_BENCH_THREADS (default 1): libtorch's thread
// count (OpenBLAS reads OPENBLAS_NUM_THREADS, which scripts/bench.sh sets alike).
int thread_count();
void set_thread_count(int threads);

// The configurations for one cell and scalar type: the full grid
// B ∈ {1, 32, 64} × T ∈ {50, 200} × H ∈ {32, 128, 512} for the RNN, or the
// default subset (see bench_common.cpp).
std::vector<Config> configurations(Cell cell, bool is_double);

// "rnn/f32/B=32/T=200/H=512/" + method
std::string row_name(Cell cell, const char* dtype, const Config& c, const char* method);

// Matmul FLOPs of one training step with a 1-output readout: forward
// x W_ihᵀ (2·B·gH·H), h W_hhᵀ (2·B·gH·H), h Vᵀ (2·B·H) per step; backward
// dW_ih (the input needs no gradient), dW_hh and dh, dV and dh.
double step_flops(Cell cell, const Config& c);

// The clock every rate is measured with: this thread's CPU time with one
// thread (what Google Benchmark's CPU column shows; steady on a shared
// machine), wall-clock time with more (other threads' work is not this thread's).
double timer_seconds();

// The GEMM rate (GFLOP/s, one thread) measured in this run by the gemm/ rows,
// or measured on first use when those rows were filtered out.
template <class T>
double gemm_rate();
template <class T>
void set_gemm_rate(double gflops);

// Sets the row's counters from the step's FLOPs and the loop's CPU time:
// GFLOPs, pct_gemm (of gemm_rate<T>()).
template <class T>
void report_flops(benchmark::State& state, double flops_per_iteration, double seconds);

// Tiny-op chains (tape and torch alike): times forward() (which returns the
// loss of a chain of tiny_chain_length ops), backward(loss) and then, untimed,
// reset(); the row's manual time is forward + backward, and its counters
// fwd_us_per_op, bwd_us_per_op, us_per_op the times per op.
constexpr int tiny_chain_length = 1000;
template <class Forward, class Backward, class Reset>
void time_tiny_chain(benchmark::State& state, Forward forward, Backward backward, Reset reset) {
  double forward_seconds = 0, backward_seconds = 0;
  for (auto _ : state) {
    const double t0 = timer_seconds();
    auto loss = forward();
    const double t1 = timer_seconds();
    backward(loss);
    const double t2 = timer_seconds();
    reset();
    forward_seconds += t1 - t0;
    backward_seconds += t2 - t1;
    state.SetIterationTime(t2 - t0);
  }
  const double ops = static_cast<double>(state.iterations()) * tiny_chain_length;
  state.counters["fwd_us_per_op"] = 1e6 * forward_seconds / ops;
  state.counters["bwd_us_per_op"] = 1e6 * backward_seconds / ops;
  state.counters["us_per_op"] = 1e6 * (forward_seconds + backward_seconds) / ops;
}

// Registration, one function per file; main() calls them in this order.
void register_gemm();
void register_rnn();
void register_gated();
void register_layer_options();  // lengths and checkpointing, fused and op by op
void register_long_sequences();  // full BPTT at T up to 10^5: plain, √T segments, revolve (issue 27)
void register_custom_cell();  // bench_gated.cpp: the minimal gated unit as a loop of ops
void register_torch();  // no-op without REWIND_WITH_LIBTORCH
void register_tiny_ops();
void register_broadcast();  // bench_broadcast.cpp: each broadcast pattern beside the equal-shape op
void register_memory();  // no-op when allocations are not counted (sanitizers)
void register_train();   // no-op unless the rewind program is built alongside

}  // namespace rwd::bench
