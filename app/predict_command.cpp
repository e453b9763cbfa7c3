// `rewind predict` and `rewind sample`: use a trained model (a checkpoint or a
// --save file: rnn.*, head.* under PyTorch names).
//   predict: o = head(rnn(x)) for x.npy [T, B, I], written to an .npy [T, B, O].
//   sample:  for a model trained on the sine task (one input, one output):
//            prime it with --prime steps of a sine wave, then feed its own
//            predictions back for --length steps; CSV of prediction vs truth.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "train.hpp"

namespace rwd::app {

namespace {

namespace fs = std::filesystem;

void write_file_atomic(const fs::path& path, const std::vector<char>& bytes, const std::string& who) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(who + ": cannot write '" + path.string() + "'");
  }
  fs::rename(tmp, path);
}

template <class T>
int predict(const std::string& checkpoint, const nn::NpyArray& x, const std::string& input, const std::string& output) {
  auto model = load_model<T>(checkpoint, "--checkpoint");
  const std::size_t in = model->rnn().options().input_size;
  if (x.shape.size() != 3 || x.shape[0] == 0 || x.shape[1] == 0 || x.shape[2] != in)
    throw Error(fmt::format("predict: --input '{}' has shape [{}], expected [T, B, {}]", input,
                            fmt::join(x.shape.begin(), x.shape.end(), ", "), in));
  const xt::xarray<T> values = x.as<T>("--input");
  for (auto v : values)
    if (!std::isfinite(static_cast<double>(v)))
      throw Error("predict: --input '" + input + "' holds a non-finite value, expected finite numbers");
  NoGradGuard no_grad;
  const Tensor<T> o = model->forward(Tensor<T>(values)).output;
  write_file_atomic(output, nn::encode_npy(nn::NpyArray(o.value())), "predict");
  const Shape shape = o.shape();
  fmt::print("wrote {} [{}]\n", output, fmt::join(shape.begin(), shape.end(), ", "));
  return 0;
}

// Autoregressive sine generation; returns the RMSE of the generated part.
int sample(const std::string& checkpoint, std::size_t prime, std::size_t length, double omega, double phase,
           const std::string& out) {
  using T = double;
  auto model = load_model<T>(checkpoint, "--checkpoint");
  if (model->rnn().options().input_size != 1 || model->head().out_features() != 1)
    throw Error("sample: the model must map 1 input to 1 output (one trained with --task sine)");
  if (prime == 0 || length == 0) throw Error("sample: --prime and --length must be >= 1");
  NoGradGuard no_grad;
  auto truth = [&](std::size_t t) { return std::sin(omega * double(t) + phase); };
  std::string csv = "t,input,prediction,truth,generated\n";
  nn::CellState<T> state;
  double value = truth(0), squared = 0;
  for (std::size_t t = 0; t < prime + length; ++t) {
    const bool generated = t >= prime;
    const double input = generated ? value : truth(t);
    xt::xarray<T> x = xt::zeros<T>({std::size_t{1}, std::size_t{1}, std::size_t{1}});
    x(0, 0, 0) = input;
    auto step = model->forward(Tensor<T>(x), state);
    state = step.state;
    value = step.output.value().flat(0);
    if (generated) squared += (value - truth(t + 1)) * (value - truth(t + 1));
    csv += fmt::format("{},{:.17g},{:.17g},{:.17g},{}\n", t, input, value, truth(t + 1), generated ? 1 : 0);
  }
  std::vector<char> bytes(csv.begin(), csv.end());
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
  write_file_atomic(out, bytes, "sample");
  fmt::print("primed with {} steps of sin({} t + {}), generated {} steps: RMSE {:.4g} against the true wave\nwrote {}\n",
             prime, omega, phase, length, std::sqrt(squared / double(length)), out);
  return 0;
}

}  // namespace

void add_predict_commands(CLI::App& cli, int& exit_code) {
  struct PredictArgs {
    std::string checkpoint, input, output;
  };
  auto p = std::make_shared<PredictArgs>();
  auto* predict_cmd = cli.add_subcommand("predict", "Run a trained model over x.npy [T, B, I], write the outputs .npy");
  predict_cmd->add_option("--checkpoint", p->checkpoint, "checkpoint.npz or a --save file")->required();
  predict_cmd->add_option("--input", p->input, "x.npy [T, B, I]")->required();
  predict_cmd->add_option("--output", p->output, "Where the outputs [T, B, O] go (.npy)")->required();
  predict_cmd->callback([p, &exit_code] {
    const nn::NpyArray x = read_npy(p->input, "--input");
    const Architecture a = architecture_of(read_npz_file(p->checkpoint, "--checkpoint"), "--checkpoint");
    if (x.dtype != a.dtype)
      throw Error(fmt::format("predict: --input is {}, the model is {}", nn::dtype_name(x.dtype), nn::dtype_name(a.dtype)));
    exit_code = a.dtype == nn::DType::Float32 ? predict<float>(p->checkpoint, x, p->input, p->output)
                                              : predict<double>(p->checkpoint, x, p->input, p->output);
  });

  struct SampleArgs {
    std::string checkpoint, out = "rewind-out/sample.csv";
    std::size_t prime = 40, length = 100;
    double omega = 0.25, phase = 0;
  };
  auto s = std::make_shared<SampleArgs>();
  auto* sample_cmd = cli.add_subcommand("sample", "Sine model: prime with a sine wave, then generate from its own output");
  sample_cmd->add_option("--checkpoint", s->checkpoint, "A float64 model trained with --task sine")->required();
  sample_cmd->add_option("--prime", s->prime, "Steps of the true wave fed first")->capture_default_str();
  sample_cmd->add_option("--length", s->length, "Steps generated from the model's own output")->capture_default_str();
  sample_cmd->add_option("--omega", s->omega, "Angular frequency of the wave (training used 0.1..0.4)")
      ->capture_default_str();
  sample_cmd->add_option("--phase", s->phase, "Phase of the wave")->capture_default_str();
  sample_cmd->add_option("--out", s->out, "CSV: t, input, prediction, truth, generated")->capture_default_str();
  sample_cmd->callback([s, &exit_code] {
    exit_code = sample(s->checkpoint, s->prime, s->length, s->omega, s->phase, s->out);
  });
}

}  // namespace rwd::app
