// `rewind bptt`: an RNN, LSTM or GRU (+ Linear head, MSE on random targets)
// differentiated two ways: by the tape, and by the hand-derived BPTT of bptt/
// (elman_bptt.hpp, gated_bptt.hpp). Prints the per-parameter and per-step
// comparison and both timings; writes ||dL_T/dh_t|| (the last step's loss)
// against t for full and truncated BPTT from the hand reference, and the
// gradient-flow diagnostics of check/gradient_flow.hpp (norms, step-Jacobian
// estimates, verdict) from the tape, as CSVs and SVG plots through gnuplot
// when it is on PATH: where gradients vanish (or, with --recurrent-gain > 1, explode).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include <fmt/core.h>
#include <xtensor/xview.hpp>

#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "render.hpp"

namespace rwd::app {

namespace {

struct BpttConfig {
  std::string model = "rnn";
  std::size_t input_size = 3, hidden_size = 16, num_layers = 1, seq_len = 50, batch_size = 4, truncation = 10;
  std::size_t repeats = 5;
  bool unfused = false;       // record the layer op by op instead of one fused node per step
  double recurrent_gain = 1;  // weight_hh is scaled by this: < 1 gradients vanish faster, > 1 they may explode
  std::string activation = "tanh", out_dir = "rewind-out";
  std::uint64_t seed = 0;
};

template <class F>
double best_ms(std::size_t repeats, F&& f) {
  double best = 1e300;
  for (std::size_t r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

using Arr = xt::xarray<double>;

// The Linear head o = h Vᵀ + c (one output) and L = mean over the chosen
// steps of (o - y)², by hand: dL/dh_t = dL/do_t V. last_only: the loss of the
// last step alone (what the curves show).
Arr head_gradient(const Arr& h, const Arr& V, const Arr& c, const Arr& y, bool last_only) {
  const std::size_t steps = h.shape()[0], B = h.shape()[1], H = h.shape()[2];
  Arr dh = xt::zeros<double>(h.shape());
  const double n = static_cast<double>(last_only ? B : steps * B);
  for (std::size_t t = last_only ? steps - 1 : 0; t < steps; ++t)
    for (std::size_t b = 0; b < B; ++b) {
      double o = c(0);
      for (std::size_t j = 0; j < H; ++j) o += h(t, b, j) * V(0, j);
      const double g = 2 * (o - y(t, b, 0)) / n;
      for (std::size_t j = 0; j < H; ++j) dh(t, b, j) = g * V(0, j);
    }
  return dh;
}

double max_rel(const nn::GradientReport& report) {
  double m = 0;
  for (const auto& p : report.parameters) m = std::max(m, p.max_rel);
  for (const auto& s : report.steps) m = std::max(m, s.difference.max_rel);
  return m;
}

std::string norm_text(const Arr& a) { return fmt::format("{:.17g}", std::sqrt(xt::sum(a * a)())); }

void check_config(const BpttConfig& c) {
  auto positive = [](std::size_t v, const char* flag) {
    if (v == 0) throw Error(std::string("bptt: ") + flag + " must be >= 1");
  };
  positive(c.input_size, "--input-size"), positive(c.hidden_size, "--hidden-size");
  positive(c.num_layers, "--num-layers"), positive(c.seq_len, "--seq-len"), positive(c.batch_size, "--batch-size");
  positive(c.truncation, "--truncation"), positive(c.repeats, "--repeats");
  namespace fs = std::filesystem;
  if (fs::exists(c.out_dir) && !fs::is_directory(c.out_dir))
    throw Error("bptt: --out-dir '" + c.out_dir + "' exists and is not a directory");
  if (!(c.recurrent_gain > 0) || !std::isfinite(c.recurrent_gain))
    throw Error(fmt::format("bptt: --recurrent-gain must be a finite number > 0, got {}", c.recurrent_gain));
}

// The recurrent layer the flags ask for, its weight_hh scaled by --recurrent-gain.
std::unique_ptr<nn::Recurrent<double>> make_model(const BpttConfig& c, Generator& gen) {
  using T = double;
  const bool relu = c.activation == "relu";
  const nn::RecurrentOptions options{.input_size = c.input_size, .hidden_size = c.hidden_size,
                                     .num_layers = c.num_layers,
                                     .nonlinearity = relu ? nn::Nonlinearity::relu : nn::Nonlinearity::tanh,
                                     .fused = !c.unfused};
  std::unique_ptr<nn::Recurrent<T>> model;
  if (c.model == "lstm") model = std::make_unique<nn::LSTM<T>>(options, gen);
  else if (c.model == "gru") model = std::make_unique<nn::GRU<T>>(options, gen);
  else model = std::make_unique<nn::RNN<T>>(options, gen);
  for (auto& [name, parameter] : model->named_parameters())
    if (name.rfind("weight_hh", 0) == 0) parameter.mutable_value() *= c.recurrent_gain;
  return model;
}

// The model, its head and the data, all drawn from --seed in this order.
struct BpttProblem {
  explicit BpttProblem(const BpttConfig& c)
      : gen(c.seed), model(make_model(c, gen)), head(c.hidden_size, 1, true, gen),
        x(randn<double>({c.seq_len, c.batch_size, c.input_size}, gen)),
        y(randn<double>({c.seq_len, c.batch_size, std::size_t{1}}, gen)) {}
  Generator gen;
  std::unique_ptr<nn::Recurrent<double>> model;
  nn::Linear<double> head;
  Tensor<double> x, y;
};

// dL/dh_t of every layer by the hand-derived BPTT, for the MSE over all steps
// (seed_last = false) or the last step's alone.
using HandBptt = std::function<std::vector<Arr>(bool seed_last, const bptt::BpttOptions&)>;

// The hand-derived BPTT on the problem's weights (the problem must outlive it).
HandBptt hand_bptt(const BpttConfig& c, const BpttProblem& p) {
  using T = double;
  const std::size_t last = c.seq_len - 1;
  if (c.model == "rnn") {
    auto named = p.model->named_parameters();
    named.emplace_back("head.weight", p.head.weight);
    named.emplace_back("head.bias", p.head.bias);
    const auto elman = std::make_shared<bptt::ElmanModel<T>>(nn::elman_model_from_parameters(
        named, c.activation == "relu" ? bptt::ElmanActivation::relu : bptt::ElmanActivation::tanh));
    return [elman, &x = p.x, &y = p.y, last, batch = c.batch_size](bool seed_last, const bptt::BpttOptions& o) {
      const auto trace = bptt::elman_forward(*elman, x.value());
      Arr seed = bptt::elman_mse_loss(trace.o, y.value()).grad;
      if (seed_last) {
        seed = xt::zeros<T>(trace.o.shape());
        for (std::size_t b = 0; b < batch; ++b)
          seed(last, b, 0) = 2 * (trace.o(last, b, 0) - y.value()(last, b, 0)) / static_cast<T>(batch);
      }
      std::vector<Arr> dh;
      for (auto& layer : bptt::elman_backward(*elman, x.value(), trace, seed, o).layers) dh.push_back(std::move(layer.dh));
      return dh;
    };
  }
  const auto gated = std::make_shared<bptt::GatedModel<T>>(nn::gated_model_from_parameters(
      c.model == "lstm" ? bptt::GatedKind::lstm : bptt::GatedKind::gru, p.model->named_parameters()));
  return [gated, &x = p.x, &y = p.y, &head = p.head](bool seed_last, const bptt::BpttOptions& o) {
    const auto trace = bptt::gated_forward(*gated, x.value());
    const Arr seed = head_gradient(trace.o, head.weight.value(), head.bias.value(), y.value(), seed_last);
    std::vector<Arr> dh;
    for (auto& layer : bptt::gated_backward(*gated, x.value(), trace, seed, o).layers) dh.push_back(std::move(layer.dh));
    return dh;
  };
}

// The tape's gradients per parameter and per step against the hand-derived ones.
template <class Loss>
nn::GradientReport tape_report(const BpttConfig& c, BpttProblem& p, const Loss& loss_of) {
  using T = double;
  const auto zeros_state = zeros<T>({c.num_layers, c.batch_size, c.hidden_size});
  if (c.model == "lstm")
    return nn::check_lstm_gradients<T>(static_cast<nn::LSTM<T>&>(*p.model), p.x, zeros_state, zeros_state, loss_of);
  if (c.model == "gru") return nn::check_gru_gradients<T>(static_cast<nn::GRU<T>&>(*p.model), p.x, zeros_state, loss_of);
  return nn::check_rnn_gradients<T>(static_cast<nn::RNN<T>&>(*p.model), p.x, zeros_state, loss_of);
}

struct Timings {
  double tape_ms, hand_ms, truncated_ms;
};

void print_comparison(const BpttConfig& c, const nn::GradientReport& report, const Timings& ms) {
  std::string name = c.model == "rnn" ? "Elman RNN (" + c.activation + ", " : c.model == "lstm" ? "LSTM (" : "GRU (";
  fmt::print("{}{} layer{}, I={}, H={}) + Linear head, T={}, B={}, seed {}, {} steps on the tape: tape vs hand-derived "
             "BPTT (float64)\n\n",
             name, c.num_layers, c.num_layers > 1 ? "s" : "", c.input_size, c.hidden_size, c.seq_len, c.batch_size,
             c.seed, c.unfused ? "op-by-op" : "fused");
  fmt::print("{}\n", report.to_string());
  fmt::print("largest relative difference over every row: {:.3e}\n", max_rel(report));
  fmt::print("timing (best of {}): tape forward+backward {:.3f} ms, hand BPTT {:.3f} ms, hand truncated BPTT "
             "(k={}) {:.3f} ms\n\n",
             c.repeats, ms.tape_ms, ms.hand_ms, c.truncation, ms.truncated_ms);
}

std::string plot_title(const BpttConfig& c) {
  return c.model == "rnn" ? fmt::format("Elman RNN ({}, H={}, gain {})", c.activation, c.hidden_size, c.recurrent_gain)
                          : fmt::format("{} (H={}, gain {})", c.model == "lstm" ? "LSTM" : "GRU", c.hidden_size,
                                        c.recurrent_gain);
}

// Vanishing and exploding gradients: the loss of the last step alone,
// L_T = mean_b (o_T - y_T)², so ||dL_T/dh_t|| (summed over the batch) is how
// much of it reaches step t -- with full BPTT, and with truncation at k,
// where it stops k steps back (and the log-scale plot ends there).
void write_grad_norm_curves(const BpttConfig& c, const std::vector<Arr>& full, const std::vector<Arr>& truncated,
                            const std::string& title) {
  namespace fs = std::filesystem;
  fs::create_directories(c.out_dir);
  const fs::path csv = fs::path(c.out_dir) / "bptt_grad_norms.csv";
  std::string text = fmt::format("layer,t,full,truncated_k{}\n", c.truncation);
  for (std::size_t l = 0; l < c.num_layers; ++l)
    for (std::size_t t = 0; t < c.seq_len; ++t)
      text += fmt::format("{},{},{},{}\n", l, t + 1, norm_text(xt::view(full[l], t)), norm_text(xt::view(truncated[l], t)));
  write_text_atomically(csv, text, "bptt");
  const Rendered plot = plot_with_gnuplot(
      fs::path(c.out_dir) / "bptt_grad_norms.gp",
      fmt::format("set terminal svg size 800,480 dynamic background rgb 'white'\nset datafile separator ','\n"
                  "set logscale y\nset format y '10^{{%L}}'\nset xlabel 't'\nset ylabel '||dL_T/dh_t||'\nset grid\n"
                  "set key top left\n"
                  "set title \"{}: how much of the last step's loss reaches step t\"\n"
                  "plot '{}' using 2:($1=={}?$4:1/0) skip 1 with lines lw 4 lc rgb '#f0a030' "
                  "title 'truncated BPTT, k={}', "
                  "'' using 2:($1=={}?$3:1/0) skip 1 with linespoints pt 7 ps 0.4 lc rgb '#2060c0' title 'full BPTT'\n",
                  title, csv.string(), c.num_layers - 1, c.truncation, c.num_layers - 1),
      fs::path(c.out_dir) / "bptt_grad_norms.svg");
  fmt::print("wrote {} (hand BPTT: ||dL_T/dh_t|| per layer and step, loss of the last step); {}\n", csv.string(),
             plot.svg ? "plot: " + plot.svg->string() : "no plot: " + plot.note);
}

int run_bptt(const BpttConfig& c) {
  using T = double;
  check_config(c);
  BpttProblem p(c);
  auto loss_of = [&](const Tensor<T>& output) { return nn::mse_loss(p.head.forward(output), p.y); };
  const std::size_t last = c.seq_len - 1;
  auto last_step_loss = [&](const Tensor<T>& output) {
    return nn::mse_loss(p.head.forward(select(output, 0, last)), select(p.y, 0, last));
  };

  // The tape: forward + backward of every parameter.
  Timings ms{};
  ms.tape_ms = best_ms(c.repeats, [&] {
    p.model->zero_grad(), p.head.zero_grad();
    loss_of(p.model->forward(p.x).output).backward();
  });
  bptt::BpttOptions truncated_options;
  truncated_options.truncation = static_cast<int>(std::min<std::size_t>(c.truncation, 1u << 30));
  const HandBptt hand = hand_bptt(c, p);
  ms.hand_ms = best_ms(c.repeats, [&] { hand(false, {}); });
  ms.truncated_ms = best_ms(c.repeats, [&] { hand(false, truncated_options); });

  const nn::GradientReport report = tape_report(c, p, loss_of);
  print_comparison(c, report, ms);
  const std::string title = plot_title(c);
  write_grad_norm_curves(c, hand(true, {}), hand(true, truncated_options), title);

  // The same from the tape, through the library's diagnostics, with the step Jacobians and a verdict.
  fmt::print("\n");
  report_gradient_flow<T>(*p.model, p.x, last_step_loss, c.out_dir, title + ", loss of the last step", "bptt");
  return report.passed() ? 0 : 1;
}

}  // namespace

void add_bptt_command(CLI::App& cli, int& exit_code) {
  auto config = std::make_shared<BpttConfig>();
  auto* cmd = cli.add_subcommand(
      "bptt", "RNN/LSTM/GRU: tape vs hand-derived BPTT gradients, timings, gradient flow per step (CSV + plot)");
  cmd->add_option("--model", config->model, "rnn, lstm or gru")
      ->check(CLI::IsMember({"rnn", "lstm", "gru"}))
      ->capture_default_str();
  cmd->add_option("--input-size", config->input_size, "Input features")->capture_default_str();
  cmd->add_option("--hidden-size", config->hidden_size, "Hidden units")->capture_default_str();
  cmd->add_option("--num-layers", config->num_layers, "Stacked layers")->capture_default_str();
  cmd->add_option("--seq-len", config->seq_len, "Time steps T")->capture_default_str();
  cmd->add_option("--batch-size", config->batch_size, "Batch size B")->capture_default_str();
  cmd->add_option("--truncation", config->truncation, "Truncated BPTT depth k for the second curve")
      ->capture_default_str();
  cmd->add_option("--activation", config->activation, "tanh or relu (rnn)")
      ->check(CLI::IsMember({"tanh", "relu"}))
      ->capture_default_str();
  cmd->add_option("--seed", config->seed, "Seed of the weights and data")->capture_default_str();
  cmd->add_option("--recurrent-gain", config->recurrent_gain,
                  "Scale weight_hh by this after init (> 1: watch gradients explode)")
      ->capture_default_str();
  cmd->add_flag("--unfused", config->unfused, "Record the layer op by op (RecurrentOptions::fused = false)");
  cmd->add_option("--repeats", config->repeats, "Timing repetitions (best is reported)")->capture_default_str();
  cmd->add_option("--out-dir", config->out_dir, "Where bptt_grad_norms.csv, gradient_flow.csv and their plots go")->capture_default_str();
  cmd->callback([config, &exit_code] { exit_code = run_bptt(*config); });
}

}  // namespace rwd::app
