// `rewind gradcheck`: gradient-checks, in double precision against central
// finite differences (autograd/gradcheck.hpp), every built-in op, every cell
// (one step), every recurrent layer (single and stacked bidirectional), the
// Linear and Embedding modules, the sequence model and the losses; prints one
// row per check (name, input shapes, max error, pass) and exits 1 if any fails.
//
// A module's check perturbs its inputs and its own parameter tensors (gradcheck
// writes the perturbations into the tensors it is given), so every parameter
// gradient is checked, not only the input's.
#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <rewind/autograd/op_catalog.hpp>
#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "sequence_model.hpp"

namespace rwd::app {

namespace {

using T = double;
using Fn = Function<T>;

// One row of the table: f and the tensors gradcheck perturbs.
struct Check {
  std::string group;  // op | cell | layer | module | loss
  std::string name;
  std::vector<Tensor<T>> inputs;
  Fn f;
  bool second_order = false;
  std::size_t parameters = 0;  // the last `parameters` inputs are a module's own parameters
  std::string constants = "";  // inputs that are not differentiated (indices, class targets), for the table
};

// Every output a cell or layer returns, flattened into one vector.
Tensor<T> flatten_all(const std::vector<Tensor<T>>& parts) {
  std::vector<Tensor<T>> flat;
  for (const auto& part : parts) flat.push_back(reshape(part, {part.numel()}));
  return concat<T>(flat, 0);
}

// Appends `module`'s parameters to `inputs` (so gradcheck perturbs them too).
template <class M>
std::size_t add_parameters(std::vector<Tensor<T>>& inputs, const M& module) {
  const auto parameters = module.parameters();
  inputs.insert(inputs.end(), parameters.begin(), parameters.end());
  return parameters.size();
}

// One step of a cell, state_t = step(project_input(x_t), state_{t-1}), on a batch of 2.
Check cell_check(const std::string& name, std::shared_ptr<nn::RecurrentCell<T>> cell, Generator& gen) {
  Check check{"cell", name, {randn<T>({2, cell->input_size()}, gen, true)}, {}};
  const std::size_t states = cell->state_sizes().size();
  for (const std::size_t size : cell->state_sizes()) check.inputs.push_back(randn<T>({2, size}, gen, true));
  check.parameters = add_parameters(check.inputs, *cell);
  check.f = [cell, states](const std::vector<Tensor<T>>& in) {
    const RecurrentState<T> state(in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(states));
    return flatten_all(cell->step(cell->project_input(in[0]), state));
  };
  return check;
}

// A whole layer over T = 3 steps, batch 2, from a given initial state: output and final state.
Check layer_check(const std::string& name, std::shared_ptr<nn::Recurrent<T>> layer, std::size_t states,
                  Generator& gen) {
  const auto& o = layer->options();
  const std::size_t rows = o.num_layers * layer->num_directions();
  Check check{"layer", name, {randn<T>({3, 2, o.input_size}, gen, true)}, {}};
  for (std::size_t k = 0; k < states; ++k) check.inputs.push_back(randn<T>({rows, 2, o.hidden_size}, gen, true));
  check.parameters = add_parameters(check.inputs, *layer);
  check.f = [layer, states](const std::vector<Tensor<T>>& in) {
    const RecurrentState<T> initial(in.begin() + 1, in.begin() + 1 + static_cast<std::ptrdiff_t>(states));
    auto out = layer->nn::Recurrent<T>::forward(in[0], initial);
    out.final_state.insert(out.final_state.begin(), out.output);
    return flatten_all(out.final_state);
  };
  return check;
}

// Every op of autograd/op_catalog.hpp (as the doctest suite `ops`), each from its group's seeds.
void add_op_checks(std::vector<Check>& checks) {
  for (const OpGroup& group : op_catalog()) {  // autograd/op_catalog.hpp, as the doctest suite `ops`
    std::uint64_t seed = group.seed;
    for (const OpCase& op : group.cases) {
      Check check{"op", op.name, {}, op.f, op.second_order};
      Generator op_gen(seed++);
      for (const OpInput& spec : op.inputs) check.inputs.push_back(draw(spec, op_gen));
      checks.push_back(std::move(check));
    }
  }
}

void add_cell_checks(std::vector<Check>& checks, Generator& gen) {
  using nn::Nonlinearity;
  checks.push_back(
      cell_check("RNNCell (tanh)", std::make_shared<nn::RNNCell<T>>(3, 4, true, Nonlinearity::tanh, gen), gen));
  checks.push_back(
      cell_check("RNNCell (relu)", std::make_shared<nn::RNNCell<T>>(3, 4, true, Nonlinearity::relu, gen), gen));
  checks.push_back(
      cell_check("RNNCell (no bias)", std::make_shared<nn::RNNCell<T>>(3, 4, false, Nonlinearity::tanh, gen), gen));
  checks.push_back(cell_check("LSTMCell", std::make_shared<nn::LSTMCell<T>>(3, 4, true, gen), gen));
  checks.push_back(cell_check("GRUCell", std::make_shared<nn::GRUCell<T>>(3, 4, true, gen), gen));
}

void add_layer_checks(std::vector<Check>& checks, Generator& gen) {
  using nn::Nonlinearity;
  const nn::RecurrentOptions one{.input_size = 3, .hidden_size = 4};
  const nn::RecurrentOptions stacked{.input_size = 3, .hidden_size = 3, .num_layers = 2, .bidirectional = true};
  nn::RecurrentOptions relu = one;
  relu.nonlinearity = Nonlinearity::relu;
  checks.push_back(layer_check("RNN (tanh)", std::make_shared<nn::RNN<T>>(one, gen), 1, gen));
  checks.push_back(layer_check("RNN (relu)", std::make_shared<nn::RNN<T>>(relu, gen), 1, gen));
  checks.push_back(layer_check("LSTM", std::make_shared<nn::LSTM<T>>(one, gen), 2, gen));
  checks.push_back(layer_check("GRU", std::make_shared<nn::GRU<T>>(one, gen), 1, gen));
  checks.push_back(layer_check("RNN (2 layers, bidir.)", std::make_shared<nn::RNN<T>>(stacked, gen), 1, gen));
  checks.push_back(layer_check("LSTM (2 layers, bidir.)", std::make_shared<nn::LSTM<T>>(stacked, gen), 2, gen));
  checks.push_back(layer_check("GRU (2 layers, bidir.)", std::make_shared<nn::GRU<T>>(stacked, gen), 1, gen));
}

void add_module_checks(std::vector<Check>& checks, Generator& gen) {
  {
    auto linear = std::make_shared<nn::Linear<T>>(3, 2, true, gen);
    Check check{"module", "Linear", {randn<T>({3, 2, 3}, gen, true)}, {}, true};
    check.parameters = add_parameters(check.inputs, *linear);
    check.f = [linear](const std::vector<Tensor<T>>& in) { return linear->forward(in[0]); };
    checks.push_back(std::move(check));
  }
  {
    auto norm = std::make_shared<nn::LayerNorm<T>>(Shape{4});
    Check check{"module", "LayerNorm", {randn<T>({3, 2, 4}, gen, true)}, {}, true};
    check.parameters = add_parameters(check.inputs, *norm);
    check.f = [norm](const std::vector<Tensor<T>>& in) { return norm->forward(in[0]); };
    checks.push_back(std::move(check));
  }
  {
    // Index 1 picked twice: its gradient rows add up.
    auto embedding = std::make_shared<nn::Embedding<T>>(5, 3, gen);
    Check check{"module", "Embedding", {}, {}};
    check.constants = "indices [2, 2]";
    check.parameters = add_parameters(check.inputs, *embedding);
    check.f = [embedding](const std::vector<Tensor<T>>&) { return embedding->forward({1, 4, 1, 0}, {2, 2}); };
    checks.push_back(std::move(check));
  }
  {
    // The rewind program's model: an LSTM and a Linear head at every step.
    auto model = std::make_shared<SequenceModel<T>>(
        SequenceModelOptions{.cell = CellKind::lstm, .input_size = 2, .hidden_size = 3, .output_size = 2}, gen);
    Check check{"module", "SequenceModel (lstm + head)", {randn<T>({3, 2, 2}, gen, true)}, {}};
    check.parameters = add_parameters(check.inputs, *model);
    check.f = [model](const std::vector<Tensor<T>>& in) { return model->forward(in[0]).output; };
    checks.push_back(std::move(check));
  }
}

void add_loss_checks(std::vector<Check>& checks, Generator& gen) {
  const std::vector<std::int64_t> classes{2, 0, 3, 3, 1};
  checks.push_back({"loss", "mse_loss", {randn<T>({3, 2, 2}, gen, true), randn<T>({3, 2, 2}, gen, true)},
                    [](const std::vector<Tensor<T>>& in) { return nn::mse_loss(in[0], in[1]); }, true});
  checks.push_back({"loss", "mse_loss (sum)", {randn<T>({4, 3}, gen, true), randn<T>({4, 3}, gen, true)},
                    [](const std::vector<Tensor<T>>& in) { return nn::mse_loss(in[0], in[1], nn::Reduction::Sum); }});
  checks.push_back({"loss", "cross_entropy", {randn<T>({5, 4}, gen, true)},
                    [classes](const std::vector<Tensor<T>>& in) { return nn::cross_entropy(in[0], classes); }, true, 0,
                    "targets [5]"});
  checks.push_back({"loss", "cross_entropy (none)", {randn<T>({5, 4}, gen, true)},
                    [classes](const std::vector<Tensor<T>>& in) {
                      return nn::cross_entropy(in[0], classes, nn::Reduction::None);
                    }, false, 0, "targets [5]"});
  checks.push_back({"loss", "bce_with_logits", {randn<T>({3, 4}, gen, true), uniform<T>({3, 4}, 0.1, 0.9, gen, true)},
                    [](const std::vector<Tensor<T>>& in) { return nn::binary_cross_entropy_with_logits(in[0], in[1]); },
                    true});
}

// Everything `rewind gradcheck` checks, in its order; the modules draw from one generator in turn.
std::vector<Check> catalog() {
  Generator gen(2024);
  std::vector<Check> checks;
  add_op_checks(checks);
  add_cell_checks(checks, gen);
  add_layer_checks(checks, gen);
  add_module_checks(checks, gen);
  add_loss_checks(checks, gen);
  return checks;
}

// "[2, 3] [2, 4] +4 params": the shapes of the checked inputs, the constant ones, how many parameters.
std::string shapes_of(const Check& check) {
  std::string shapes;
  const std::size_t data = check.inputs.size() - check.parameters;
  for (std::size_t k = 0; k < data; ++k) shapes += (shapes.empty() ? "" : " ") + format_shape(check.inputs[k].shape());
  if (!check.constants.empty()) shapes += (shapes.empty() ? "" : ", ") + check.constants;
  if (check.parameters)
    shapes += fmt::format("{}+{} param{}", shapes.empty() ? "" : " ", check.parameters,
                          check.parameters > 1 ? "s" : "");
  return shapes;
}

double max_error(const GradcheckReport& report) {
  double error = 0;
  for (const auto& input : report.inputs) error = std::max(error, input.max_abs_error);
  return error;
}

int run_gradcheck() {
  const auto checks = catalog();
  int failures = 0;
  fmt::print("{:<7} {:<28} {:<40} {:>10} {:>10}  {}\n", "group", "check", "shapes", "max error", "2nd order",
             "result");
  for (const auto& check : checks) {
    GradcheckOptions options;
    options.name = check.name;
    const auto first = gradcheck<T>(check.f, check.inputs, options);
    bool passed = first.passed();
    std::string second = "-";
    if (check.second_order) {
      const auto report = gradgradcheck<T>(check.f, check.inputs, options);
      second = fmt::format("{:.2e}", max_error(report));
      passed = passed && report.passed();
    }
    failures += passed ? 0 : 1;
    fmt::print("{:<7} {:<28} {:<40} {:>10.2e} {:>10}  {}\n", check.group, check.name, shapes_of(check),
               max_error(first), second, passed ? "pass" : "FAIL");
    if (!passed) fmt::print("{}\n", first.to_string());
  }
  fmt::print("{} checks, {} failed\n", checks.size(), failures);
  return failures ? 1 : 0;
}

}  // namespace

void add_gradcheck_command(CLI::App& cli, int& exit_code) {
  auto* cmd = cli.add_subcommand(
      "gradcheck", "Gradient-check every built-in op, cell, layer, module and loss against finite differences");
  cmd->callback([&exit_code] { exit_code = run_gradcheck(); });
}

}  // namespace rwd::app
