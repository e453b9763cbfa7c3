// Runs the rewind program's subcommands in-process for the fuzz targets.
#pragma once

#include <string>
#include <vector>

#include "../app/commands.hpp"
#include "fuzz_support.hpp"

namespace fuzz {

// `rewind ARGS...` as main() parses them; a bad file must end in rwd::Error.
inline void run_rewind(std::vector<std::string> args) {
  CLI::App cli{"rewind"};
  int exit_code = 0;
  rwd::app::add_predict_commands(cli, exit_code);
  rwd::app::add_grads_command(cli, exit_code);
  args.insert(args.begin(), "rewind");
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  rejects_or_reads([&] { cli.parse(static_cast<int>(argv.size()), argv.data()); });
}

}  // namespace fuzz
