#include "render.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <sstream>
#include <vector>

#include <rewind/rewind.hpp>

extern char** environ;

namespace rwd::app {

namespace fs = std::filesystem;

void write_text_atomically(const fs::path& path, const std::string& text, const std::string& who) {
  io::write_file_atomically(path, std::vector<char>(text.begin(), text.end()), who);
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

void write_gradient_flow(const nn::GradientFlow& flow, const fs::path& out_dir, const std::string& title,
                         const std::string& who) {
  if (flow.layers.empty()) return;
  fs::create_directories(out_dir);
  const fs::path csv = out_dir / "gradient_flow.csv";
  write_text_atomically(csv, flow.to_csv(), who);
  std::size_t top = 0;  // the top layer's forward direction
  for (std::size_t i = 0; i < flow.layers.size(); ++i)
    if (!flow.layers[i].reverse) top = flow.layers[i].layer;
  const bool lstm = !flow.layers[0].dc_norm.empty(), jacobians = !flow.layers[0].jacobian_h.empty();
  std::ostringstream plot;
  plot << "set terminal svg size 800,480 dynamic background rgb 'white'\nset datafile separator ','\n"
       << "set logscale y\nset format y '10^{%L}'\nset xlabel 't'\nset grid\nset key below\n"
       << "set title \"" << title << ": gradient flow of layer " << top << " (" << nn::verdict_name(flow.verdict)
       << ")\"\n"
       << "sel(col) = (strcol(1) eq '" << top << "' && strcol(2) eq 'forward' && strlen(strcol(col)) > 0) ? column(col) : 1/0\n"
       << "plot '" << csv.string() << "' using 3:(sel(4)) skip 1 with linespoints pt 7 ps 0.4 lw 2 lc rgb '#2060c0' title '||dL/dh_t||'";
  if (lstm) plot << ", '' using 3:(sel(5)) skip 1 with lines lw 2 lc rgb '#20a060' title '||dL/dc_t||'";
  if (jacobians) plot << ", '' using 3:(sel(6)) skip 1 with lines lw 2 dt 2 lc rgb '#c04020' title '||dh_t/dh_{t-1}|| (estimate)'";
  if (jacobians && lstm) plot << ", '' using 3:(sel(7)) skip 1 with lines lw 2 dt 3 lc rgb '#a020a0' title '||dc_t/dc_{t-1}|| (estimate)'";
  plot << "\n";
  const Rendered svg = plot_with_gnuplot(out_dir / "gradient_flow.gp", plot.str(), out_dir / "gradient_flow.svg");
  std::cout << "wrote " << csv.string() << " (gradient flow per layer, direction and step); "
            << (svg.svg ? "plot: " + svg.svg->string() : "no plot: " + svg.note) << "\n";
}

template <class T>
nn::GradientFlow report_gradient_flow(nn::Recurrent<T>& layer, const Tensor<T>& input,
                                      const std::function<Tensor<T>(const Tensor<T>& output)>& loss,
                                      const fs::path& out_dir, const std::string& title, const std::string& who) {
  const bool training = layer.is_training();
  layer.eval();  // dropout masks would make the flow a random draw (and step_gradients refuses them)
  nn::GradientFlow flow;
  try {
    flow = nn::gradient_flow<T>(layer, input, {}, loss);
  } catch (...) {
    layer.train(training);
    throw;
  }
  layer.train(training);
  std::cout << flow.to_string();
  write_gradient_flow(flow, out_dir, title, who);
  return flow;
}
template nn::GradientFlow report_gradient_flow<float>(nn::Recurrent<float>&, const Tensor<float>&,
                                                      const std::function<Tensor<float>(const Tensor<float>&)>&,
                                                      const fs::path&, const std::string&, const std::string&);
template nn::GradientFlow report_gradient_flow<double>(nn::Recurrent<double>&, const Tensor<double>&,
                                                       const std::function<Tensor<double>(const Tensor<double>&)>&,
                                                       const fs::path&, const std::string&, const std::string&);

}  // namespace rwd::app
