// `rewind graph`: a recurrent model's computational graph as Graphviz DOT, in
// the two views of the notes:
//   compact.dot   one step of the cell, x_t and h_{t-1} -> cell -> h_t -> o_t,
//                 with the delay loop drawn as a dashed edge "D" from h_t back
//                 to h_{t-1} (and c_t to c_{t-1} for an LSTM);
//   unrolled.dot  the same step repeated over T time steps, h_0 -> h_1 -> ...
//                 -> h_T, every step reading the one shared set of weights.
// Both are the graphs Rewind actually records (autograd/dot.hpp draws the
// tape), with the weights, x_t, h_t and o_t labelled. With Graphviz's `dot`
// on the PATH, each is also rendered to SVG.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "model_flags.hpp"
#include "render.hpp"
#include "sequence_model.hpp"

namespace rwd::app {

namespace {

namespace fs = std::filesystem;
using T = double;

struct GraphArgs {
  std::string model = "rnn", nonlinearity = "tanh";
  std::size_t input_size = 2, hidden_size = 3, output_size = 2, steps = 3;
  std::string out_dir = "rewind-out";
};

// The model's weights labelled by their PyTorch names ("weight_ih_l0", "head.weight").
void label_weights(const SequenceModel<T>& model, DotOptions& dot) {
  for (const auto& [name, parameter] : model.named_parameters())
    dot.labels[parameter.id()] = name.rfind("rnn.", 0) == 0 ? name.substr(4) : name;
}

// State names: h for every cell, c for the LSTM's second state tensor.
std::string state_name(std::size_t k) { return k == 0 ? "h" : "c"; }

// One step of the cell on a batch of one: state_t = step(project_input(x_t), state_{t-1}), o_t = head(h_t).
struct Step {
  RecurrentState<T> state;
  Tensor<T> output;
};
Step run_step(const SequenceModel<T>& model, const Tensor<T>& x_t, const RecurrentState<T>& previous) {
  const auto& cell = model.recurrent().cell(0);
  RecurrentState<T> state = cell.step(cell.project_input(x_t), previous);
  return {state, model.head().forward(state[0])};
}

std::string compact_dot(const SequenceModel<T>& model) {
  DotOptions dot;
  dot.graph_name = "compact";
  label_weights(model, dot);
  const auto& cell = model.recurrent().cell(0);
  const Tensor<T> x_t = zeros<T>({1, model.options().input_size});
  dot.labels[x_t.id()] = "x_t";
  RecurrentState<T> previous = cell.zero_state(1);
  for (std::size_t k = 0; k < previous.size(); ++k) dot.labels[previous[k].id()] = state_name(k) + "_{t-1}";
  const Step step = run_step(model, x_t, previous);
  std::vector<Tensor<T>> outputs{step.output};
  for (std::size_t k = 0; k < step.state.size(); ++k) {
    dot.labels[step.state[k].id()] = state_name(k) + "_t";
    dot.dashed_edges.emplace_back(step.state[k].id(), previous[k].id());  // the delay: s_t becomes s_{t-1}
    outputs.push_back(step.state[k]);
  }
  dot.labels[step.output.id()] = "o_t";
  return to_dot(outputs, dot);
}

std::string unrolled_dot(const SequenceModel<T>& model, std::size_t steps) {
  DotOptions dot;
  dot.graph_name = "unrolled";
  label_weights(model, dot);
  RecurrentState<T> state = model.recurrent().cell(0).zero_state(1);
  for (std::size_t k = 0; k < state.size(); ++k) {
    dot.labels[state[k].id()] = state_name(k) + "_0";
    dot.outside.push_back(state[k].id());  // the initial state belongs to no step
  }
  std::vector<Tensor<T>> outputs;
  for (std::size_t t = 1; t <= steps; ++t) {
    const Tensor<T> x_t = zeros<T>({1, model.options().input_size});
    dot.labels[x_t.id()] = "x_" + std::to_string(t);
    const Step step = run_step(model, x_t, state);
    state = step.state;
    for (std::size_t k = 0; k < state.size(); ++k) dot.labels[state[k].id()] = state_name(k) + "_" + std::to_string(t);
    dot.labels[step.output.id()] = "o_" + std::to_string(t);
    outputs.push_back(step.output);
    DotOptions::Cluster cluster{"t = " + std::to_string(t), {step.output.id()}};  // the step: all it made
    for (const auto& s : state) cluster.roots.push_back(s.id());
    dot.clusters.push_back(std::move(cluster));
  }
  outputs.insert(outputs.end(), state.begin(), state.end());
  return to_dot(outputs, dot);
}

void run_graph(const GraphArgs& args) {
  SequenceModelOptions options;
  options.cell = parse_cell_kind(args.model);
  apply_layer_flags(LayerFlags{.nonlinearity = args.nonlinearity}, options);
  if (args.steps == 0) throw Error("--steps: expected at least 1 time step, got 0");
  options.input_size = args.input_size;
  options.hidden_size = args.hidden_size;
  options.output_size = args.output_size;
  Generator generator(0);  // the values do not matter, only the graph's structure
  const SequenceModel<T> model(options, generator);

  const fs::path dir(args.out_dir);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error || !fs::is_directory(dir)) throw Error(args.out_dir + ": cannot create directory");
  const std::pair<std::string, std::string> views[] = {{"compact", compact_dot(model)},
                                                        {"unrolled", unrolled_dot(model, args.steps)}};
  std::string note;
  for (const auto& [name, text] : views) {
    const fs::path dot_file = dir / (name + ".dot");
    write_text_atomically(dot_file, text, "graph");
    fmt::print("wrote {}\n", dot_file.string());
    if (!note.empty()) continue;  // dot is missing or failed: said once
    const Rendered svg = render_dot(dot_file, dir / (name + ".svg"));
    if (svg.svg)
      fmt::print("wrote {}\n", svg.svg->string());
    else
      note = svg.note;
  }
  if (!note.empty()) fmt::print("note: no SVG: {}\n", note);
}

}  // namespace

void add_graph_command(CLI::App& cli, int& exit_code) {
  const CLI::Range kSizeRange(std::size_t{1}, std::size_t{1} << 10);  // a drawing: small sizes
  auto args = std::make_shared<GraphArgs>();
  auto* cmd = cli.add_subcommand("graph", "Write a recurrent model's computational graph as Graphviz DOT (and SVG)");
  cmd->add_option("--model", args->model, "Recurrent cell: rnn, lstm or gru")->capture_default_str();
  cmd->add_option("--steps", args->steps, "Time steps of the unrolled view (T)")
      ->capture_default_str()->check(kSizeRange);
  cmd->add_option("--input-size", args->input_size, "Features per input step (shown as shapes)")
      ->capture_default_str()->check(kSizeRange);
  cmd->add_option("--hidden-size", args->hidden_size, "Hidden units")->capture_default_str()->check(kSizeRange);
  cmd->add_option("--output-size", args->output_size, "Outputs of the Linear head")
      ->capture_default_str()->check(kSizeRange);
  cmd->add_option("--nonlinearity", args->nonlinearity, "rnn only: tanh or relu")->capture_default_str();
  cmd->add_option("--out-dir", args->out_dir, "Directory for compact.dot, unrolled.dot (and .svg)")
      ->capture_default_str();
  cmd->callback([args, &exit_code] {
    run_graph(*args);
    exit_code = 0;
  });
}

}  // namespace rwd::app
