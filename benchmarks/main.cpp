// The benchmark binary: registers every row (gemm/ first, so the training-step
// rows can compare against its rate), then runs Google Benchmark as usual.
// --full (or REWIND_BENCH_FULL=1) registers the full configuration grid
// instead of the default subset; --benchmark_filter=<regex> picks rows.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench_common.hpp"

int main(int argc, char** argv) {
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
  rwd::bench::register_gemm();
  rwd::bench::register_rnn();
  rwd::bench::register_gated();
  rwd::bench::register_torch();
  rwd::bench::register_tiny_ops();
  rwd::bench::register_memory();

  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::AddCustomContext("grid", full ? "full" : "default");
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
