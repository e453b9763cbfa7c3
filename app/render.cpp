#include "render.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>
#include <vector>

#include <rewind/rewind.hpp>

extern char** environ;

namespace rwd::app {

namespace fs = std::filesystem;

void write_text_atomically(const fs::path& path, const std::string& text, const std::string& who) {
  nn::write_file_atomically(path, std::vector<char>(text.begin(), text.end()), who);
}

namespace {

// The executable `program` on PATH, if there is one.
std::optional<fs::path> find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  if (!path) return std::nullopt;
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    const fs::path candidate = fs::path(dir) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// Runs `tool` (found on PATH) with `args`, its standard output going to
// `svg`'s temporary twin, renamed over `svg` when the tool succeeded: a failed
// or missing tool leaves an existing SVG as it was. No shell: paths are passed
// as they are.
Rendered render(const std::string& tool, const std::string& package, const std::vector<std::string>& args,
                const fs::path& svg, const std::string& by_hand) {
  const auto program = find_program(tool);
  if (!program) return {std::nullopt, tool + " is not on PATH (install " + package + ", then run: " + by_hand + ")"};
  std::vector<std::string> argv{program->string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> pointers;
  for (auto& arg : argv) pointers.push_back(arg.data());
  pointers.push_back(nullptr);

  const fs::path tmp = svg.string() + ".tmp";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
  // The tool's warnings would break the program's one-line messages; a failure is reported by the note.
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int status = 0;
  const bool ran = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, pointers.data(), environ) == 0 &&
                   waitpid(pid, &status, 0) >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  posix_spawn_file_actions_destroy(&actions);
  std::error_code ignored;
  if (!ran || fs::file_size(tmp, ignored) == 0) {
    fs::remove(tmp, ignored);
    return {std::nullopt, tool + " failed (run by hand: " + by_hand + ")"};
  }
  fs::rename(tmp, svg);
  return {svg, ""};
}

}  // namespace

Rendered plot_with_gnuplot(const fs::path& script_path, const std::string& script, const fs::path& svg) {
  write_text_atomically(script_path, script, "gnuplot script");
  return render("gnuplot", "gnuplot-nox", {script_path.string()}, svg,
                "gnuplot " + script_path.string() + " > " + svg.string());
}

Rendered render_dot(const fs::path& dot_file, const fs::path& svg) {
  return render("dot", "graphviz", {"-Tsvg", dot_file.string()}, svg,
                "dot -Tsvg " + dot_file.string() + " -o " + svg.string());
}

}  // namespace rwd::app
