// rewind: the command-line program. `rewind --help` lists the subcommands;
// with none, it runs the built-in default task (the README's main job).
#include <cstdio>
#include <exception>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App cli{"rewind: reverse-mode automatic differentiation for recurrent models"};
  cli.require_subcommand(0, 1);
  int exit_code = 0;
  rwd::app::add_gradcheck_command(cli, exit_code);
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
    // A bad command line is one line too, as every other failure.
    if (e.get_exit_code() == 0) return cli.exit(e);
    fmt::print(stderr, "rewind: error: {} (see rewind --help)\n", e.what());
    return e.get_exit_code();
  } catch (const std::exception& e) {
    // Every failure is one line naming what was wrong.
    fmt::print(stderr, "rewind: error: {}\n", e.what());
    return 1;
  }
  return exit_code;
}
