// The rewind program's subcommands. Each add_* function registers one
// subcommand on the CLI; its callback runs the command and stores the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

namespace rwd::app {

void add_gradcheck_command(CLI::App& cli, int& exit_code);
// `rewind train` (exit 3 when the loss diverges to NaN/Inf).
void add_train_command(CLI::App& cli, int& exit_code);
// `rewind bptt`: tape vs hand-derived BPTT on an Elman RNN, timings, ||dL/dh_t|| CSV.
void add_bptt_command(CLI::App& cli, int& exit_code);
// `rewind predict` and `rewind sample`: use a trained checkpoint.
void add_predict_commands(CLI::App& cli, int& exit_code);
// `rewind grads`: gradients of a recurrent model + readout as .npz (PyTorch names).
void add_grads_command(CLI::App& cli, int& exit_code);
void add_graph_command(CLI::App& cli, int& exit_code);

// The main job: what `rewind` does with no subcommand.
int run_default_task();

// Prints "rewind: error: <what>" on `to` as one line (a message listing several
// problems on several lines is joined with "; ") and flushes it.
void print_error(std::FILE* to, const std::string& what);

}  // namespace rwd::app
