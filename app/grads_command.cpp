// `rewind grads`: the loss of a recurrent model with a Linear readout on one
// batch of sequences, and the gradient of every parameter, as a .npz archive
// with PyTorch's parameter names -- to compare against torch, or to inspect.
//
//   rewind grads --model lstm --input-size 3 --hidden-size 4 --output-size 2
//                --state weights.npz --input x.npy --target y.npy --loss mse --out grads.npz
//
// Every input is read and checked before anything is computed, and the output
// is written atomically (write_npz), so a failed run leaves no file behind and
// an existing --out untouched.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "model_flags.hpp"
#include "npy_files.hpp"
#include "train.hpp"
#include "sequence_model.hpp"

namespace rwd::app {

namespace {

namespace fs = std::filesystem;

struct GradsArgs {
  std::string model, loss;
  std::size_t input_size = 0, hidden_size = 0, output_size = 0, num_layers = 1;
  LayerFlags layer;  // --nonlinearity, --bidirectional, --no-bias
  std::string state, input, target, out;
};

enum class LossKind { mse, cross_entropy };

LossKind parse_loss(const std::string& name) {
  if (name == "mse") return LossKind::mse;
  if (name == "cross_entropy") return LossKind::cross_entropy;
  throw Error("--loss: expected mse or cross_entropy, got '" + name + "'");
}

// Everything a run needs, read and checked; nothing computed yet.
template <class T>
struct Problem {
  std::unique_ptr<SequenceModel<T>> model;
  Tensor<T> x;
  Tensor<T> float_targets;                  // mse
  std::vector<std::int64_t> class_targets;  // cross_entropy, t-major
};

template <class T>
Problem<T> prepare(const GradsArgs& args, const SequenceModelOptions& options, LossKind loss,
                   const io::NpyArray& x, const io::NpzEntries& weights) {
  Problem<T> problem;
  const std::string x_name = args.input, y_name = args.target;
  if (x.shape.size() != 3 || x.shape[2] != options.input_size || x.shape[0] == 0 || x.shape[1] == 0)
    throw Error(x_name + ": input must have shape (T, B, " + std::to_string(options.input_size) +
                ") with T, B >= 1, got " + format_shape(x.shape));
  const std::size_t steps = x.shape[0], batch = x.shape[1];
  std::string note;
  problem.x = Tensor<T>(float_array_as<T>(x, x_name, &note));
  if (!note.empty()) fmt::print("{}\n", note);

  const io::NpyArray y = io::read_npy(y_name, y_name);
  if (loss == LossKind::mse) {
    if (y.dtype != x.dtype)
      throw Error(y_name + ": mse targets must have the input's dtype " + io::dtype_name(x.dtype) + ", got " +
                  io::dtype_name(y.dtype));
    const Shape expected{steps, batch, options.output_size};
    if (y.shape != expected)
      throw Error(y_name + ": mse targets must have shape " + format_shape(expected) + ", got " +
                  format_shape(y.shape));
    problem.float_targets = Tensor<T>(float_array_as<T>(y, y_name, nullptr));
  } else {
    if (y.dtype != io::DType::Int64)
      throw Error(y_name + ": cross_entropy targets must be class indices of dtype int64, got " +
                  io::dtype_name(y.dtype));
    const Shape expected{steps, batch};
    if (y.shape != expected)
      throw Error(y_name + ": cross_entropy targets must have shape " + format_shape(expected) + ", got " +
                  format_shape(y.shape));
    const xt::xarray<std::int64_t> classes = y.as<std::int64_t>(y_name);
    for (const std::int64_t c : classes)
      if (c < 0 || c >= static_cast<std::int64_t>(options.output_size))
        throw Error(y_name + ": class index " + std::to_string(c) + " out of range [0, " +
                    std::to_string(options.output_size) + ")");
    problem.class_targets.assign(classes.begin(), classes.end());
  }

  problem.model = std::make_unique<SequenceModel<T>>(options);
  load_parameters(*problem.model, weights, args.state);
  return problem;
}

// loss = mse_loss(o, y) over all T·B·O elements, or cross_entropy over the
// T·B positions (o reshaped [T·B, O], targets t-major) -- both means, as
// torch.nn.functional with reduction='mean'.
template <class T>
io::NpzEntries compute(Problem<T>& problem, LossKind loss_kind) {
  const Tensor<T> o = problem.model->forward(problem.x).output;
  Tensor<T> loss;
  if (loss_kind == LossKind::mse) {
    loss = nn::mse_loss(o, problem.float_targets);
  } else {
    const Shape& shape = o.shape();
    loss = nn::cross_entropy(reshape(o, {shape[0] * shape[1], shape[2]}), problem.class_targets);
  }
  loss.backward();
  io::NpzEntries entries;
  xt::xarray<T> loss_value(std::vector<std::size_t>{});  // 0-D, as torch's loss
  loss_value() = loss.item();
  entries.emplace("loss", io::NpyArray(loss_value));
  for (const auto& [name, parameter] : problem.model->named_parameters()) {
    // A parameter the loss does not reach (none here, but a user model might) has gradient 0.
    const xt::xarray<T> grad = parameter.grad().defined() ? parameter.grad().value()
                                                          : xt::xarray<T>(xt::zeros<T>(parameter.shape()));
    entries.emplace(name, io::NpyArray(grad));
  }
  return entries;
}

void run_grads(const GradsArgs& args) {
  // Flags first (cheap), then every file, then the model; nothing is written before all passed.
  SequenceModelOptions options;
  options.cell = parse_cell_kind(args.model);
  apply_layer_flags(args.layer, options);
  options.input_size = args.input_size;
  options.hidden_size = args.hidden_size;
  options.output_size = args.output_size;
  options.num_layers = args.num_layers;
  const LossKind loss = parse_loss(args.loss);
  const fs::path out(args.out);
  const fs::path out_dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  if (!fs::is_directory(out_dir)) throw Error(args.out + ": directory " + out_dir.string() + " does not exist");
  if (fs::is_directory(out)) throw Error(args.out + ": is a directory");

  io::NpzEntries weights = io::read_npz(args.state);
  const io::NpyArray x = io::read_npy(args.input, args.input);
  // The weights' dtype is the precision (data of the other float dtype are converted); without
  // a recognisable first weight, the input's.
  io::DType precision = x.dtype;
  if (auto w = weights.find("rnn.weight_hh_l0");
      w != weights.end() && (w->second.dtype == io::DType::Float32 || w->second.dtype == io::DType::Float64))
    precision = w->second.dtype;
  if (x.dtype != io::DType::Float32 && x.dtype != io::DType::Float64) precision = x.dtype;
  io::NpzEntries grads;
  if (precision == io::DType::Float64) {
    auto problem = prepare<double>(args, options, loss, x, weights);
    grads = compute(problem, loss);
  } else if (precision == io::DType::Float32) {
    auto problem = prepare<float>(args, options, loss, x, weights);
    grads = compute(problem, loss);
  } else {
    throw Error(args.input + ": input must be float32 or float64, got " +
                io::dtype_name(x.dtype));
  }
  io::write_npz(out, grads);
  fmt::print("loss {} ({}, {} parameters) -> {}\n", precision == io::DType::Float64
                                                         ? fmt::format("{:.17g}", grads.at("loss").as<double>()())
                                                         : fmt::format("{:.9g}", grads.at("loss").as<float>()()),
             io::dtype_name(precision), grads.size() - 1, args.out);
}

}  // namespace

void add_grads_command(CLI::App& cli, int& exit_code) {
  // Sizes are checked as text, before conversion: "-4" would otherwise wrap
  // around to a huge std::size_t; the bounds keep a typo from allocating terabytes.
  const CLI::Range kSizeRange(std::size_t{1}, std::size_t{1} << 16), kLayerRange(std::size_t{1}, std::size_t{1} << 10);
  auto args = std::make_shared<GradsArgs>();
  auto* cmd = cli.add_subcommand(
      "grads", "Loss and parameter gradients of a recurrent model with a Linear readout, as PyTorch names them");
  cmd->add_option("--model", args->model, "Recurrent layer: rnn, lstm or gru")->required();
  cmd->add_option("--input-size", args->input_size, "Features per input step (I)")->required()->check(kSizeRange);
  cmd->add_option("--hidden-size", args->hidden_size, "Hidden units per direction (H)")->required()->check(kSizeRange);
  cmd->add_option("--output-size", args->output_size, "Outputs of the Linear head per step (O)")
      ->required()->check(kSizeRange);
  cmd->add_option("--num-layers", args->num_layers, "Stacked recurrent layers (L)")
      ->capture_default_str()->check(kLayerRange);
  add_layer_flags(*cmd, args->layer);
  cmd->add_option("--state", args->state, "Parameters (.npz, PyTorch names: rnn.*, head.weight, head.bias)")
      ->required();
  cmd->add_option("--input", args->input, "Input sequences x (.npy, (T, B, I), float32 or float64)")->required();
  cmd->add_option("--target", args->target, "Targets (.npy): (T, B, O) floats for mse, (T, B) int64 for cross_entropy")
      ->required();
  cmd->add_option("--loss", args->loss, "mse or cross_entropy (mean reduction)")->required();
  cmd->add_option("--out", args->out, "Where to write the loss and gradients (.npz)")->required();
  cmd->callback([args, &exit_code] {
    run_grads(*args);
    exit_code = 0;
  });
}

}  // namespace rwd::app
