// The rewind program's subcommands. Each add_* function registers one
// subcommand on the CLI; its callback runs the command and stores the exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace rwd::app {

void add_gradcheck_command(CLI::App& cli, int& exit_code);
void add_grads_command(CLI::App& cli, int& exit_code);
void add_graph_command(CLI::App& cli, int& exit_code);

// The main job: what `rewind` does with no subcommand.
int run_default_task();

}  // namespace rwd::app
