// The benchmark binary: registers every row (gemm/ first, so the training-step
// rows can compare against its rate), then runs Google Benchmark as usual.
// --full (or REWIND_BENCH_FULL=1) registers the full configuration grid
// instead of the default subset; --benchmark_filter=<regex> picks rows.
// REWIND_BENCH_THREADS=n (default 1) gives libtorch n threads and switches the
// rates to wall-clock time, and runs the blocked products (rwd::set_num_threads)
// on n threads; OPENBLAS_NUM_THREADS must say the same (bench.sh does).
// REWIND_BENCH_NO_BLOCKS=1 turns the blocked products off (A/B runs).
#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <rewind/autograd/blas.hpp>
#include <rewind/autograd/threads.hpp>

#include "bench_common.hpp"

// OpenBLAS names the kernel it chose for this CPU (or OPENBLAS_CORETYPE's).
extern "C" char* openblas_get_corename(void);

int main(int argc, char** argv) {
  // The rewind program's allocator settings (app/main.cpp), so every row runs
  // as the program does. With glibc's defaults a row's large arrays were mapped
  // and unmapped at every step, depending on which rows ran before: the hand
  // BPTT at B=32/T=50/H=512 ran alone in 2.3x its time after other rows.
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 512 << 20);
  std::vector<char*> args;
  const char* env = std::getenv("REWIND_BENCH_FULL");
  bool full = env != nullptr && std::strcmp(env, "0") != 0 && *env != '\0';
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--full") == 0)
      full = true;
    else
      args.push_back(argv[i]);
  }
  rwd::bench::set_full_grid(full);
  const char* threads = std::getenv("REWIND_BENCH_THREADS");
  rwd::bench::set_thread_count(threads != nullptr && std::atoi(threads) > 1 ? std::atoi(threads) : 1);
  rwd::set_num_threads(std::size_t(rwd::bench::thread_count()));  // the blocked products' threads too
  if (std::getenv("REWIND_BENCH_NO_BLOCKS"))  // A/B: every product one kernel call, as before the blocks (#28)
    rwd::blas::detail::set_blocking({64, 512, 256, std::numeric_limits<double>::infinity()});
  rwd::bench::register_gemm();
  rwd::bench::register_rnn();
  rwd::bench::register_gated();
  rwd::bench::register_layer_options();
  rwd::bench::register_long_sequences();
  rwd::bench::register_custom_cell();
  rwd::bench::register_torch();
  rwd::bench::register_tiny_ops();
  rwd::bench::register_broadcast();
  rwd::bench::register_memory();
  rwd::bench::register_train();

  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::AddCustomContext("grid", full ? "full" : "default");
  benchmark::AddCustomContext("threads", std::to_string(rwd::bench::thread_count()));
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
  const char* coretype = std::getenv("OPENBLAS_CORETYPE");
  benchmark::AddCustomContext("openblas_coretype", coretype != nullptr ? coretype : "(unset)");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
