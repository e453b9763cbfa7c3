// `rewind train`: fits an RNN/LSTM/GRU with a Linear head on a built-in task
// (sine, adding, reber), a text file (--text), a numeric CSV (--csv), or on given arrays (--input/--target/--init, the reproducible
// mode), with progress, a loss CSV and plot, and atomic checkpoints (--resume).
#include <fmt/core.h>

#include "commands.hpp"
#include "train.hpp"

namespace rwd::app {

namespace {

// Full BPTT with gradient checkpointing (nn::checkpointed_unroll).
void add_checkpoint_options(CLI::App& cmd, TrainConfig& c) {
  cmd.add_option("--checkpoint-segment", c.checkpoint_segment,
                 "Gradient checkpointing: keep every k-th state, recompute the steps between in backward "
                 "(memory O(T/k + k); k ≈ √T; 0: off; same gradients)")
      ->capture_default_str();
  cmd.add_option("--checkpoint-memory", c.checkpoint_memory_mb,
                 "Gradient checkpointing within MB megabytes for the kept states and one piece's records: √T "
                 "segments when they fit, else a binomial (revolve) schedule with the fewest recomputations "
                 "(0: off; same gradients)")
      ->capture_default_str();
  cmd.add_flag("--print-schedule", c.print_schedule,
               "Print the checkpoint schedule: the states it keeps, the steps it recomputes");
}

}  // namespace

void add_train_options(CLI::App& cmd, TrainConfig& c) {
  cmd.add_option("--task", c.task,
                 "Built-in task: sine (next-value regression, MSE), adding (adding problem) or reber (next "
                 "character of embedded Reber grammar strings, cross-entropy)")
      ->check(CLI::IsMember({"sine", "adding", "reber"}))
      ->capture_default_str();
  cmd.add_option("--model", c.model, "Recurrent layer: rnn (tanh), lstm or gru")
      ->check(CLI::IsMember({"rnn", "lstm", "gru"}))
      ->capture_default_str();
  cmd.add_option("--num-layers", c.num_layers, "Stacked recurrent layers")->capture_default_str();
  cmd.add_option("--hidden-size", c.hidden_size, "Hidden units per layer")->capture_default_str();
  add_layer_flags(cmd, c.layer);  // --nonlinearity, --bidirectional, --no-bias, as rewind grads
  cmd.add_option("--input-size", c.input_size, "Features per input step (optional: checked against the data and --init)");
  cmd.add_option("--output-size", c.output_size,
                 "Outputs of the Linear head (optional: checked against the data and --init; cross_entropy: classes)");
  cmd.add_option("--optimizer", c.optimizer, "sgd, adam, adamw, rmsprop or adagrad")
      ->check(CLI::IsMember({"sgd", "adam", "adamw", "rmsprop", "adagrad"}))
      ->capture_default_str();
  cmd.add_option("--lr", c.lr, "Learning rate (default: PyTorch's for the optimizer; sgd requires it)");
  cmd.add_option("--momentum", c.momentum, "Momentum (sgd, rmsprop; default 0)");
  cmd.add_flag("--nesterov", c.nesterov, "Nesterov momentum (sgd)");
  cmd.add_option("--weight-decay", c.weight_decay, "Weight decay (default 0; adamw 1e-2)");
  cmd.add_option("--betas", c.betas, "Adam/AdamW betas, e.g. 0.9,0.999")->expected(2)->delimiter(',');
  cmd.add_option("--eps", c.eps, "Optimizer eps (default 1e-8; adagrad 1e-10)");
  cmd.add_option("--clip-norm", c.clip_norm, "Clip the global gradient norm to this (0: off)")->capture_default_str();
  cmd.add_option("--tbptt", c.tbptt, "Truncated BPTT: one update every k time steps (0: full BPTT)")
      ->capture_default_str();
  add_checkpoint_options(cmd, c);
  auto* steps = cmd.add_option("--steps", c.steps, "Training steps (optimizer updates of full BPTT)")
                    ->capture_default_str();
  cmd.add_option("--epochs", c.steps, "Alias of --steps (each step is one pass over the batch)")->excludes(steps);
  cmd.add_option("--threads", c.threads, "Data-parallel threads, each a shard of the batch (= mpiexec -n N, bit for "
                 "bit; with mpiexec: per process)")->capture_default_str();
  cmd.add_option("--batch-size", c.batch_size, "Sequences per step (built-in tasks, --text, --csv)")->capture_default_str();
  cmd.add_option("--seq-len", c.seq_len, "Time steps per sequence (built-in tasks, --text, --csv)")->capture_default_str();
  cmd.add_option("--seed", c.seed, "Seed of the initial weights and the generated data")->capture_default_str();
  cmd.add_option("--dtype", c.dtype, "float32 or float64 (built-in tasks; with --input the data decide)")
      ->check(CLI::IsMember({"float32", "float64"}))
      ->capture_default_str();
  cmd.add_option("--text", c.text, "Train next-character prediction on this text file (one-hot characters)");
  cmd.add_option("--csv", c.csv, "Train next-row regression on this numeric CSV (one value or row per line)");
  cmd.add_option("--input", c.input, "x.npy [T, B, I] (float32/float64): train on this instead of a task");
  cmd.add_option("--target", c.target, "y.npy: [T, B, O] for mse, int64 [T, B] for cross_entropy");
  cmd.add_option("--init", c.init, "Initial weights .npz (rnn.*, head.*, PyTorch names)");
  cmd.add_option("--loss", c.loss, "Loss with --input: mse or cross_entropy (mean over T·B positions)")
      ->check(CLI::IsMember({"mse", "cross_entropy"}))
      ->capture_default_str();
  cmd.add_option("--out-dir", c.out_dir, "Where loss.csv, loss.svg and checkpoint.npz go")->capture_default_str();
  cmd.add_option("--save", c.save, "Also write the final weights (PyTorch names) to this .npz");
  cmd.add_option("--resume", c.resume, "Continue from a checkpoint.npz, bit for bit");
  cmd.add_option("--checkpoint-every", c.checkpoint_every, "Checkpoint every N steps (and at the end)")
      ->capture_default_str();
  cmd.add_flag("--diagnose", c.diagnose,
               "After training: the recurrent layer's gradient flow on one batch (eval mode): per-layer summary, "
               "verdict, gradient_flow.csv and gradient_flow.svg in --out-dir");
  cmd.add_option("--log-every", c.log_every, "Progress line every N steps when not a terminal (0: steps/10)");
}

void mark_explicit(const CLI::App& cmd, TrainConfig& c) {
  c.explicit_model = cmd.count("--model") > 0;
  c.explicit_hidden = cmd.count("--hidden-size") > 0;
  c.explicit_layers = cmd.count("--num-layers") > 0;
  c.explicit_nonlinearity = cmd.count("--nonlinearity") > 0;
  c.task_flags_given.clear();
  for (const char* flag : {"--task", "--batch-size", "--seq-len", "--dtype", "--text", "--csv"})
    if (cmd.count(flag) > 0) c.task_flags_given.emplace_back(flag);
}

void add_train_command(CLI::App& cli, int& exit_code) {
  auto config = std::make_shared<TrainConfig>();
  auto* cmd = cli.add_subcommand("train", "Train an RNN/LSTM/GRU with a Linear head (a built-in task, a text or CSV file, or .npy data)");
  add_train_options(*cmd, *config);
  cmd->callback([cmd, config, &exit_code] {
    mark_explicit(*cmd, *config);
    const auto team = join_team();  // several processes under mpirun (app/distributed.hpp)
    exit_code = team->run([&] {
      try {
        run_training(*config, {}, team.get());
        return 0;
      } catch (const Diverged& e) {  // every process diverges at the same step: rank 0 says so
        if (team->leader()) fmt::print(stderr, "rewind: {}\n", e.what());
        return 3;
      }
    });
  });
}

}  // namespace rwd::app
