// End to end: the `rewind` program training as a user runs it, in a child
// process, so that the allocator, page faults and system time of a real run
// are measured rather than assumed:
//   rewind train --text README.md --model lstm --hidden-size 128 --batch-size 32
//                --seq-len 64 --steps 100 --dtype float64
// (the char-LSTM run; README.md stands in for "a 35 KB text"). The
// child's resources come from wait4(): counters wall_s, user_s, sys_s,
// sys_pct (of wall), minor_faults, major_faults. Registered only when the
// benchmark build also builds the program (REWIND_APP_PATH).
#include "bench_common.hpp"

#ifdef REWIND_APP_PATH
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

extern char** environ;

namespace rwd::bench {

namespace {

double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); }

void char_lstm_run(benchmark::State& state) {
  const std::filesystem::path out_dir =
      std::filesystem::temp_directory_path() / ("rewind-bench-train-" + std::to_string(::getpid()));
  const std::vector<std::string> args{REWIND_APP_PATH, "train", "--text", REWIND_SOURCE_DIR "/README.md",
                                      "--model", "lstm", "--hidden-size", "128", "--batch-size", "32",
                                      "--seq-len", "64", "--steps", "100", "--dtype", "float64",
                                      "--log-every", "100", "--out-dir", out_dir.string()};
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  double wall = 0, user = 0, sys = 0, minor = 0, major = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    pid_t child = 0;
    if (posix_spawn(&child, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      state.SkipWithError("cannot start the rewind program");
      break;
    }
    int status = 0;
    rusage usage{};
    wait4(child, &status, 0, &usage);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      state.SkipWithError("the rewind program failed");
      break;
    }
    state.SetIterationTime(elapsed);
    wall += elapsed;
    user += seconds(usage.ru_utime);
    sys += seconds(usage.ru_stime);
    minor += static_cast<double>(usage.ru_minflt);
    major += static_cast<double>(usage.ru_majflt);
  }
  posix_spawn_file_actions_destroy(&actions);
  std::filesystem::remove_all(out_dir);
  const double n = static_cast<double>(state.iterations());
  state.counters["wall_s"] = wall / n;
  state.counters["user_s"] = user / n;
  state.counters["sys_s"] = sys / n;
  state.counters["sys_pct"] = 100 * sys / wall;
  state.counters["minor_faults"] = minor / n;
  state.counters["major_faults"] = major / n;
}

}  // namespace

void register_train() {
  benchmark::RegisterBenchmark("train/f64/char_lstm/B=32/T=64/H=128/steps=100/app", char_lstm_run)
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kSecond);
}

}  // namespace rwd::bench

#else
namespace rwd::bench {
void register_train() {}
}  // namespace rwd::bench
#endif
