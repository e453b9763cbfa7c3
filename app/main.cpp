// rewind: the command-line program. `rewind --help` lists the subcommands;
// with none, it runs the built-in default task (the README's main job).
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"

extern "C" void openblas_set_num_threads(int threads);  // OpenBLAS's own (not in cblas.h)

namespace {
// glibc hands blocks above its mmap threshold (128 KiB at first) to the kernel
// on every free and trims the heap top above 128 KiB: a training step's large
// arrays were mapped, faulted in and unmapped again at every op (the char-LSTM
// benchmark row spent about half its time in the kernel). Arrays up to 32 MiB
// (glibc's largest threshold) stay in the heap, and the heap keeps up to
// 512 MiB of free top for the next step. Set here, for this program only: the
// library never changes its host's allocator (MALLOC_MMAP_THRESHOLD_ and
// MALLOC_TRIM_THRESHOLD_ in the environment still override these).
void keep_freed_arrays_in_the_heap() {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

// One BLAS thread unless the environment asks for more (OPENBLAS_NUM_THREADS,
// OMP_NUM_THREADS). A recurrent step's GEMMs are small: OpenBLAS's extra
// threads mostly spin in sched_yield waiting for them. The char-LSTM run of
// issue 11 (LSTM, H = 128, B = 32, 100 steps) took 45-50 s wall, 7-9 s of it
// system time, with OpenBLAS's default 2 threads on a busy 2-core machine,
// and 14 s with 0.1 s system time on one. More cores go further as MPI ranks.
void one_blas_thread_unless_asked() {
  if (std::getenv("OPENBLAS_NUM_THREADS") == nullptr && std::getenv("OMP_NUM_THREADS") == nullptr)
    openblas_set_num_threads(1);
}
}  // namespace

int main(int argc, char** argv) {
  keep_freed_arrays_in_the_heap();
  one_blas_thread_unless_asked();
  CLI::App cli{"rewind: reverse-mode automatic differentiation for recurrent models"};
  cli.require_subcommand(0, 1);
  int exit_code = 0;
  rwd::app::add_gradcheck_command(cli, exit_code);
  rwd::app::add_train_command(cli, exit_code);
  rwd::app::add_bptt_command(cli, exit_code);
  rwd::app::add_predict_commands(cli, exit_code);
  rwd::app::add_grads_command(cli, exit_code);
  rwd::app::add_graph_command(cli, exit_code);
  try {
    cli.parse(argc, argv);
    if (cli.get_subcommands().empty()) exit_code = rwd::app::run_default_task();
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    // A bad flag or value: one line, exit code 2 (help stays one --help away).
    fmt::print(stderr, "rewind: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    rwd::app::print_error(stderr, e.what());
    return 1;
  }
  return exit_code;
}
