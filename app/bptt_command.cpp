// `rewind bptt`: an Elman RNN (nn::RNN + Linear head, MSE on random targets)
// differentiated two ways: by the tape, and by the hand-derived BPTT of
// bptt/elman_bptt.hpp. Prints the per-parameter and per-step comparison and both
// timings, and writes ||dL_T/dh_t|| (the last step's loss) against t for full
// and truncated BPTT as CSV, and an SVG plot of them through gnuplot when it
// is on PATH: where gradients vanish (or, with --recurrent-gain > 1, explode).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>

#include <fmt/core.h>
#include <xtensor/xview.hpp>

#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "render.hpp"

namespace rwd::app {

namespace {

struct BpttConfig {
  std::size_t input_size = 3, hidden_size = 16, num_layers = 1, seq_len = 50, batch_size = 4, truncation = 10;
  std::size_t repeats = 5;
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

int run_bptt(const BpttConfig& c) {
  using T = double;
  auto positive = [](std::size_t v, const char* flag) {
    if (v == 0) throw Error(std::string("bptt: ") + flag + " must be >= 1");
  };
  positive(c.input_size, "--input-size"), positive(c.hidden_size, "--hidden-size");
  positive(c.num_layers, "--num-layers"), positive(c.seq_len, "--seq-len"), positive(c.batch_size, "--batch-size");
  positive(c.truncation, "--truncation"), positive(c.repeats, "--repeats");
  namespace fs = std::filesystem;
  if (fs::exists(c.out_dir) && !fs::is_directory(c.out_dir))
    throw Error("bptt: --out-dir '" + c.out_dir + "' exists and is not a directory");

  Generator gen(c.seed);
  const bool relu = c.activation == "relu";
  nn::RNN<T> rnn({.input_size = c.input_size, .hidden_size = c.hidden_size, .num_layers = c.num_layers,
                  .nonlinearity = relu ? nn::Nonlinearity::relu : nn::Nonlinearity::tanh},
                 gen);
  if (!(c.recurrent_gain > 0) || !std::isfinite(c.recurrent_gain))
    throw Error(fmt::format("bptt: --recurrent-gain must be a finite number > 0, got {}", c.recurrent_gain));
  for (auto& [name, parameter] : rnn.named_parameters())
    if (name.rfind("weight_hh", 0) == 0) parameter.mutable_value() *= c.recurrent_gain;
  nn::Linear<T> head(c.hidden_size, 1, true, gen);
  const Tensor<T> x = randn<T>({c.seq_len, c.batch_size, c.input_size}, gen);
  const Tensor<T> y = randn<T>({c.seq_len, c.batch_size, std::size_t{1}}, gen);
  auto loss_of = [&](const Tensor<T>& output) { return nn::mse_loss(head.forward(output), y); };

  // The tape: forward + backward of every parameter.
  const double tape_ms = best_ms(c.repeats, [&] {
    rnn.zero_grad(), head.zero_grad();
    loss_of(rnn.forward(x).output).backward();
  });
  // The hand-derived BPTT on the same weights (head.weight/bias become the readout V, c).
  auto named = rnn.named_parameters();
  named.emplace_back("head.weight", head.weight);
  named.emplace_back("head.bias", head.bias);
  const auto activation = relu ? bptt::ElmanActivation::relu : bptt::ElmanActivation::tanh;
  const bptt::ElmanModel<T> model = nn::elman_model_from_parameters(named, activation);
  bptt::ElmanGradients<T> full;
  const double hand_ms = best_ms(c.repeats, [&] {
    const auto trace = bptt::elman_forward(model, x.value());
    full = bptt::elman_backward(model, x.value(), trace, bptt::elman_mse_loss(trace.o, y.value()).grad);
  });
  bptt::BpttOptions truncated_options;
  truncated_options.truncation = static_cast<int>(std::min<std::size_t>(c.truncation, 1u << 30));
  bptt::ElmanGradients<T> truncated;
  const double truncated_ms = best_ms(c.repeats, [&] {
    const auto trace = bptt::elman_forward(model, x.value());
    truncated = bptt::elman_backward(model, x.value(), trace, bptt::elman_mse_loss(trace.o, y.value()).grad,
                                   truncated_options);
  });

  const nn::GradientReport report = nn::check_rnn_gradients<T>(
      rnn, x, zeros<T>({c.num_layers, c.batch_size, c.hidden_size}), loss_of);
  fmt::print("Elman RNN ({}, {} layer{}, I={}, H={}), T={}, B={}, seed {}: tape vs hand-derived BPTT (float64)\n\n",
             c.activation, c.num_layers, c.num_layers > 1 ? "s" : "", c.input_size, c.hidden_size, c.seq_len,
             c.batch_size, c.seed);
  fmt::print("{}\n", report.to_string());
  fmt::print("timing (best of {}): tape forward+backward {:.3f} ms, hand BPTT {:.3f} ms, hand truncated BPTT "
             "(k={}) {:.3f} ms\n",
             c.repeats, tape_ms, hand_ms, c.truncation, truncated_ms);

  // Vanishing and exploding gradients: the loss of the last step alone,
  // L_T = mean_b (o_T - y_T)², so ||dL_T/dh_t|| (summed over the batch) is how
  // much of it reaches step t -- with full BPTT, and with truncation at k,
  // where it stops k steps back (and the log-scale plot ends there).
  const auto trace = bptt::elman_forward(model, x.value());
  xt::xarray<T> last_step = xt::zeros<T>(trace.o.shape());
  const std::size_t last = c.seq_len - 1;
  for (std::size_t b = 0; b < c.batch_size; ++b)
    last_step(last, b, 0) = 2 * (trace.o(last, b, 0) - y.value()(last, b, 0)) / static_cast<T>(c.batch_size);
  full = bptt::elman_backward(model, x.value(), trace, last_step);
  truncated = bptt::elman_backward(model, x.value(), trace, last_step, truncated_options);
  fs::create_directories(c.out_dir);
  const fs::path csv = fs::path(c.out_dir) / "bptt_grad_norms.csv";
  std::string text = fmt::format("layer,t,full,truncated_k{}\n", c.truncation);
  for (std::size_t l = 0; l < c.num_layers; ++l)
    for (std::size_t t = 0; t < c.seq_len; ++t) {
      const xt::xarray<T> a = xt::view(full.layers[l].dh, t), b = xt::view(truncated.layers[l].dh, t);
      text += fmt::format("{},{},{:.17g},{:.17g}\n", l, t + 1, std::sqrt(xt::sum(a * a)()),
                          std::sqrt(xt::sum(b * b)()));
    }
  write_text_atomically(csv, text, "bptt");
  // The top layer's curves.
  const Rendered plot = plot_with_gnuplot(
      fs::path(c.out_dir) / "bptt_grad_norms.gp",
      fmt::format("set terminal svg size 800,480 dynamic background rgb 'white'\nset datafile separator ','\n"
                  "set logscale y\nset format y '10^{{%L}}'\nset xlabel 't'\nset ylabel '||dL_T/dh_t||'\nset grid\n"
                  "set key top left\n"
                  "set title \"Elman RNN ({}, H={}, gain {}): how much of the last step's loss reaches step t\"\n"
                  "plot '{}' using 2:($1=={}?$4:1/0) skip 1 with lines lw 4 lc rgb '#f0a030' "
                  "title 'truncated BPTT, k={}', "
                  "'' using 2:($1=={}?$3:1/0) skip 1 with linespoints pt 7 ps 0.4 lc rgb '#2060c0' title 'full BPTT'\n",
                  c.activation, c.hidden_size, c.recurrent_gain, csv.string(), c.num_layers - 1, c.truncation,
                  c.num_layers - 1),
      fs::path(c.out_dir) / "bptt_grad_norms.svg");
  fmt::print("wrote {} (||dL_T/dh_t|| per layer and step, loss of the last step); {}\n", csv.string(),
             plot.svg ? "plot: " + plot.svg->string() : "no plot: " + plot.note);
  return report.passed() ? 0 : 1;
}

}  // namespace

void add_bptt_command(CLI::App& cli, int& exit_code) {
  auto config = std::make_shared<BpttConfig>();
  auto* cmd = cli.add_subcommand(
      "bptt", "Elman RNN: tape vs hand-derived BPTT gradients, timings, ||dL_T/dh_t|| per step (CSV + plot)");
  cmd->add_option("--input-size", config->input_size, "Input features")->capture_default_str();
  cmd->add_option("--hidden-size", config->hidden_size, "Hidden units")->capture_default_str();
  cmd->add_option("--num-layers", config->num_layers, "Stacked layers")->capture_default_str();
  cmd->add_option("--seq-len", config->seq_len, "Time steps T")->capture_default_str();
  cmd->add_option("--batch-size", config->batch_size, "Batch size B")->capture_default_str();
  cmd->add_option("--truncation", config->truncation, "Truncated BPTT depth k for the second curve")
      ->capture_default_str();
  cmd->add_option("--activation", config->activation, "tanh or relu")
      ->check(CLI::IsMember({"tanh", "relu"}))
      ->capture_default_str();
  cmd->add_option("--seed", config->seed, "Seed of the weights and data")->capture_default_str();
  cmd->add_option("--recurrent-gain", config->recurrent_gain,
                  "Scale weight_hh by this after init (> 1: watch gradients explode)")
      ->capture_default_str();
  cmd->add_option("--repeats", config->repeats, "Timing repetitions (best is reported)")->capture_default_str();
  cmd->add_option("--out-dir", config->out_dir, "Where bptt_grad_norms.csv goes")->capture_default_str();
  cmd->callback([config, &exit_code] { exit_code = run_bptt(*config); });
}

}  // namespace rwd::app
