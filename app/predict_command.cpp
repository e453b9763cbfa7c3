// `rewind predict` and `rewind sample`: use a trained model (a checkpoint or a
// --save file: rnn.*, head.* under PyTorch names).
//   predict: o = head(rnn(x)) for x.npy [T, B, I], written to an .npy [T, B, O].
//   sample:  a character model (--task reber, --text; its checkpoint holds
//            the vocabulary): feed --prime, then draw --length characters at
//            --temperature; a sine model (one input, one output): prime it
//            with --prime steps of a sine wave, then feed its own predictions
//            back for --length steps; CSV of prediction vs truth.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <filesystem>
#include <fstream>
#include <numbers>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <xtensor/xmath.hpp>

#include "commands.hpp"
#include "render.hpp"
#include "model_file.hpp"
#include "npy_files.hpp"
#include "train.hpp"
#include "vocabulary.hpp"

namespace rwd::app {

namespace {

namespace fs = std::filesystem;

template <class T>
int predict(const std::string& checkpoint, const io::NpyArray& x, const std::string& input, const std::string& output) {
  auto model = load_model<T>(checkpoint, "--checkpoint");
  const std::size_t in = model->recurrent().options().input_size;
  if (x.shape.size() != 3 || x.shape[0] == 0 || x.shape[1] == 0 || x.shape[2] != in)
    throw Error(fmt::format("predict: --input '{}' has shape [{}], expected [T, B, {}]", input,
                            fmt::join(x.shape.begin(), x.shape.end(), ", "), in));
  std::string note;  // numpy's default float64 for a float32 model (or the other way): converted, and said so
  const xt::xarray<T> values = float_array_as<T>(x, "predict: --input '" + input + "'", &note);
  if (!note.empty()) fmt::print("{}\n", note);
  for (auto v : values)
    if (!std::isfinite(static_cast<double>(v)))
      throw Error("predict: --input '" + input + "' holds a non-finite value, expected finite numbers");
  NoGradGuard no_grad;
  const Tensor<T> o = model->forward(Tensor<T>(values)).output;
  io::write_file_atomically(output, io::encode_npy(io::NpyArray(o.value())), "predict");
  const Shape shape = o.shape();
  fmt::print("wrote {} [{}]\n", output, fmt::join(shape.begin(), shape.end(), ", "));
  return 0;
}

// Autoregressive sine generation; returns the RMSE of the generated part.
template <class T>
int sample_sine(const std::string& checkpoint, std::size_t prime, std::size_t length, double omega, double phase,
                const std::string& out) {
  auto model = load_model<T>(checkpoint, "--checkpoint");
  if (model->recurrent().options().input_size != 1 || model->head().out_features() != 1)
    throw Error("sample: the model must map 1 input to 1 output (one trained with --task sine), or be a character "
                "model (--task reber, --text)");
  if (prime == 0 || length == 0) throw Error("sample: --prime and --length must be >= 1");
  NoGradGuard no_grad;
  auto truth = [&](std::size_t t) { return std::sin(omega * double(t) + phase); };
  std::string csv = "t,input,prediction,truth,generated\n";
  RecurrentState<T> state;
  double value = truth(0), squared = 0;
  for (std::size_t t = 0; t < prime + length; ++t) {
    const bool generated = t >= prime;
    const double input = generated ? value : truth(t);
    xt::xarray<T> x = xt::zeros<T>({std::size_t{1}, std::size_t{1}, std::size_t{1}});
    x(0, 0, 0) = static_cast<T>(input);
    auto step = model->forward(Tensor<T>(x), state);
    state = step.state;
    value = static_cast<double>(step.output.value().flat(0));
    if (generated) squared += (value - truth(t + 1)) * (value - truth(t + 1));
    csv += fmt::format("{},{:.17g},{:.17g},{:.17g},{}\n", t, input, value, truth(t + 1), generated ? 1 : 0);
  }
  if (fs::path(out).has_parent_path()) fs::create_directories(fs::path(out).parent_path());
  write_text_atomically(out, csv, "sample");
  fmt::print("primed with {} steps of sin({} t + {}), generated {} steps: RMSE {:.4g} against the true wave\nwrote {}\n",
             prime, omega, phase, length, std::sqrt(squared / double(length)), out);
  return 0;
}

// Cuts `text` into embedded Reber strings (B, c, a Reber string up to its E, c, E)
// and checks each; returns {complete strings, grammatical ones}. A string cut
// off by the end of the text is not counted.
std::pair<std::size_t, std::size_t> count_embedded_reber(const std::string& text) {
  std::size_t complete = 0, grammatical = 0;
  for (std::size_t begin = text.find('B'); begin != std::string::npos; begin = text.find('B', begin + 1)) {
    const std::size_t inner_end = text.find('E', begin + 2);  // the inner string's E
    if (inner_end == std::string::npos || inner_end + 2 >= text.size()) break;
    const std::size_t end = inner_end + 2;  // the outer E
    ++complete;
    if (is_embedded_reber(text.substr(begin, end - begin + 1))) ++grammatical;
    begin = end;
  }
  return {complete, grammatical};
}

// Character generation: the model reads `prime` one character at a time, then
// each next character is drawn from softmax(o_t / temperature) and fed back.
// Prints the prime followed by the generated text.
template <class T>
int sample_chars(const std::string& checkpoint, const std::string& vocabulary, std::string prime, std::size_t length,
                 double temperature, std::uint64_t seed) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw Error(fmt::format("sample: --temperature must be a finite number > 0, got {}", temperature));
  if (prime.empty()) prime = vocabulary.substr(0, 1);
  for (const char c : prime)
    if (vocabulary.find(c) == std::string::npos)
      throw Error(fmt::format("sample: --prime character '{}' is not in the model's vocabulary \"{}\"", c, vocabulary));
  auto model = load_model<T>(checkpoint, "--checkpoint");
  if (model->recurrent().options().input_size != vocabulary.size())
    throw Error("sample: --checkpoint '" + checkpoint + "': the model's input size is not its vocabulary's size");
  NoGradGuard no_grad;
  Generator generator(seed);
  RecurrentState<T> state;
  auto feed = [&](char c) {  // one step on the one-hot character; returns the logits o_t
    xt::xarray<T> x = xt::zeros<T>({std::size_t{1}, std::size_t{1}, vocabulary.size()});
    x(0, 0, vocabulary.find(c)) = 1;
    auto step = model->forward(Tensor<T>(x), state);
    state = step.state;
    return xt::xarray<T>(step.output.value());
  };
  xt::xarray<T> logits;
  for (const char c : prime) logits = feed(c);
  std::string text = prime;
  for (std::size_t n = 0; n < length; ++n) {
    // p_k ∝ exp((o_k - max o) / temperature), drawn by inverse CDF.
    const double top = static_cast<double>(*std::max_element(logits.begin(), logits.end()));
    std::vector<double> weights;
    double total = 0;
    for (const T o : logits) total += weights.emplace_back(std::exp((double(o) - top) / temperature));
    double u = generator.next_unit() * total;
    std::size_t k = 0;
    while (k + 1 < weights.size() && u >= weights[k]) u -= weights[k++];
    text += vocabulary[k];
    logits = feed(vocabulary[k]);
  }
  fmt::print("{}\n", text);
  if (vocabulary == "BEPSTVX") {
    const auto [complete, grammatical] = count_embedded_reber(text);
    fmt::print("embedded Reber grammar: {} of {} complete strings are grammatical\n", grammatical, complete);
  }
  return 0;
}

struct SampleArgs {
  std::string checkpoint, prime, out = "rewind-out/sample.csv";
  std::size_t length = 100;
  double omega = 0.25, phase = 0, temperature = 1;
  std::uint64_t seed = 0;
};

// --prime for a sine model: a number of steps of the true wave (default 40).
std::size_t sine_prime_steps(const std::string& text) {
  if (text.empty()) return 40;
  std::size_t used = 0, prime = 40;
  try {
    prime = std::stoul(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text[0] == '-')
    throw Error("sample: --prime '" + text + "': a sine model is primed with a number of steps");
  return prime;
}

void add_predict_command(CLI::App& cli, int& exit_code) {
  struct PredictArgs {
    std::string checkpoint, input, output;
  };
  auto p = std::make_shared<PredictArgs>();
  auto* predict_cmd = cli.add_subcommand("predict", "Run a trained model over x.npy [T, B, I], write the outputs .npy");
  predict_cmd->add_option("--checkpoint", p->checkpoint, "checkpoint.npz or a --save file")->required();
  predict_cmd->add_option("--input", p->input, "x.npy [T, B, I]")->required();
  predict_cmd->add_option("--output", p->output, "Where the outputs [T, B, O] go (.npy)")->required();
  predict_cmd->callback([p, &exit_code] {
    const io::NpyArray x = read_npy(p->input, "--input");
    const Architecture a = architecture_of(read_npz_file(p->checkpoint, "--checkpoint"), "--checkpoint");
    exit_code = a.dtype == io::DType::Float32 ? predict<float>(p->checkpoint, x, p->input, p->output)
                                              : predict<double>(p->checkpoint, x, p->input, p->output);
  });
}

void add_sample_command(CLI::App& cli, int& exit_code) {
  auto s = std::make_shared<SampleArgs>();
  auto* sample_cmd = cli.add_subcommand(
      "sample", "Generate from a trained checkpoint: characters (reber/text model) or a sine wave (sine model)");
  sample_cmd->add_option("--checkpoint", s->checkpoint, "checkpoint.npz (float32 or float64)")->required();
  sample_cmd->add_option("--prime", s->prime,
                         "Character model: text fed first (default: the vocabulary's first character); "
                         "sine model: steps of the true wave fed first (default 40)");
  sample_cmd->add_option("--length", s->length, "Characters / steps generated")->capture_default_str();
  sample_cmd->add_option("--temperature", s->temperature, "Character model: softmax temperature (> 0)")
      ->capture_default_str();
  sample_cmd->add_option("--seed", s->seed, "Character model: seed of the draws")->capture_default_str();
  sample_cmd->add_option("--omega", s->omega, "Sine model: angular frequency (training used 0.1..0.4)")
      ->capture_default_str();
  sample_cmd->add_option("--phase", s->phase, "Sine model: phase of the wave")->capture_default_str();
  sample_cmd->add_option("--out", s->out, "Sine model: CSV of t, input, prediction, truth, generated")
      ->capture_default_str();
  sample_cmd->callback([s, &exit_code] {
    const io::NpzEntries entries = read_npz_file(s->checkpoint, "--checkpoint");
    const std::string source = "--checkpoint '" + s->checkpoint + "'";
    const bool single = architecture_of(entries, "--checkpoint").dtype == io::DType::Float32;  // the model's own dtype
    if (entries.count("train.vocabulary")) {
      const std::string vocabulary = vocabulary_of(entries, source);
      exit_code = single ? sample_chars<float>(s->checkpoint, vocabulary, s->prime, s->length, s->temperature, s->seed)
                         : sample_chars<double>(s->checkpoint, vocabulary, s->prime, s->length, s->temperature, s->seed);
      return;
    }
    const std::size_t prime = sine_prime_steps(s->prime);
    exit_code = single ? sample_sine<float>(s->checkpoint, prime, s->length, s->omega, s->phase, s->out)
                       : sample_sine<double>(s->checkpoint, prime, s->length, s->omega, s->phase, s->out);
  });
}

}  // namespace

void add_predict_commands(CLI::App& cli, int& exit_code) {
  add_predict_command(cli, exit_code);
  add_sample_command(cli, exit_code);
}

}  // namespace rwd::app
