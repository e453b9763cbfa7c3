// The main job (no subcommand): train a small Elman RNN on the sine task with
// the tape (progress, loss CSV, plot, checkpoint under ./rewind-out), then check
// the tape's gradients of the trained RNN against the hand-derived BPTT
// (bptt/elman_bptt.hpp), parameter by parameter and step by step.
#include <chrono>
#include <cstdlib>

#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"
#include "train.hpp"

namespace rwd::app {

int run_default_task() {
  TrainConfig config;
  config.model = "rnn";
  config.hidden_size = 32;
  config.num_layers = 1;
  config.optimizer = "adam";
  config.lr = 1e-2;
  config.clip_norm = 1.0;
  config.steps = 800;
  config.batch_size = 16;
  config.seq_len = 50;
  config.seed = 1;
  config.checkpoint_every = 200;
  // The CLI test shortens the run (tests/cli/default_task.sh); nothing else reads this.
  if (const char* steps = std::getenv("REWIND_DEFAULT_TASK_STEPS")) config.steps = std::strtoul(steps, nullptr, 10);
  fmt::print("rewind: sine-wave next-value prediction with a tanh RNN and a Linear head, trained by BPTT on the tape\n\n");

  bool passed = false;
  run_training(config, [&](SequenceModel<double>& model) {
    using T = double;
    auto* rnn = dynamic_cast<nn::RNN<T>*>(&model.recurrent());
    // A fresh sine batch (B = 4, T = 40), the trained weights, loss = MSE of the head's outputs.
    const Batch<T> batch = sine_batch<T>(config.seq_len, 4, config.seed + 1, 0);
    const Tensor<T> h0 = zeros<T>({config.num_layers, std::size_t{4}, config.hidden_size});
    auto loss = [&](const Tensor<T>& output) { return nn::mse_loss(model.head().forward(output), batch.y); };
    const auto start = std::chrono::steady_clock::now();
    const nn::GradientReport report = nn::check_rnn_gradients<T>(*rnn, batch.x, h0, loss);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    fmt::print("\nBPTT check: the tape's gradients of the trained RNN vs the hand-derived BPTT (float64, T = {}, "
               "B = 4; {:.1f} ms)\n\n{}\n",
               config.seq_len, ms, report.to_string(6));
    passed = report.passed();
    fmt::print("{}\n", passed ? "tape == hand-derived BPTT: every gradient agrees within the tolerance"
                              : "MISMATCH: the tape and the hand-derived BPTT disagree (see the table)");
  });
  return passed ? 0 : 1;
}

}  // namespace rwd::app
