// rewind: the command-line program. `rewind --help` lists the subcommands;
// with none, it runs the built-in default task (the README's main job).
#include <cstdio>
#include <exception>
#include <string>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
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
    // Every failure is one line naming what was wrong (a message listing
    // several problems on several lines is joined with "; ").
    std::string message = e.what();
    for (std::size_t at; (at = message.find('\n')) != std::string::npos;) {
      std::size_t end = at + 1;
      while (end < message.size() && message[end] == ' ') ++end;
      const bool after_colon = at > 0 && message[at - 1] == ':';
      message.replace(at, end - at, end == message.size() ? "" : after_colon ? " " : "; ");
    }
    fmt::print(stderr, "rewind: error: {}\n", message);
    return 1;
  }
  return exit_code;
}
