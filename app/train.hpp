// `rewind train`'s engine, shared with the default task (no subcommand): the
// configuration, and a run that trains, logs, checkpoints and reports.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "distributed.hpp"
#include "model_flags.hpp"
#include "sequence_model.hpp"
#include "tasks.hpp"

namespace rwd::app {

struct TrainConfig {
  // model (with --init/--resume the architecture is read from the file)
  std::string model = "rnn";
  std::size_t num_layers = 1, hidden_size = 32;
  // rewind grads' size flags: optional, checked against the data and the --init weights
  std::optional<std::size_t> input_size, output_size;
  // rewind grads' layer flags (--nonlinearity, --bidirectional, --no-bias): checked against --init/--resume
  LayerFlags layer;
  // optimizer; unset options take PyTorch's default for the chosen optimizer
  std::string optimizer = "adam";
  std::optional<double> lr, momentum, weight_decay, eps;
  bool nesterov = false;
  std::vector<double> betas{0.9, 0.999};
  double clip_norm = 0;    // 0: no clipping
  std::size_t tbptt = 0;   // 0: full BPTT
  std::size_t checkpoint_segment = 0;  // recompute segments of k steps in backward (0: keep every step)
  std::size_t checkpoint_memory_mb = 0;  // a memory budget for the checkpoints (nn::checkpointed_unroll); 0: none
  bool print_schedule = false;          // print the checkpoint schedule (what it keeps, what it recomputes)
  std::size_t steps = 500;
  std::size_t threads = 1;  // --threads: data-parallel threads in this process, each a shard of the batch
  std::size_t batch_size = 32, seq_len = 50;
  std::uint64_t seed = 0;
  std::string task = "sine";  // sine | adding | reber (ignored with --input, --text, --csv)
  std::string text, csv;      // the user's data: a text file (characters), a numeric CSV file
  std::string dtype = "float64";
  // the reproducible mode
  std::string input, target, init, loss = "mse";
  // outputs
  std::string out_dir = "rewind-out", save, resume;
  std::size_t checkpoint_every = 100, log_every = 0;
  bool diagnose = false;  // after training: the recurrent layer's gradient flow (check/gradient_flow.hpp)
  bool explicit_model = false, explicit_layers = false, explicit_hidden = false, explicit_nonlinearity = false;
  std::vector<std::string> task_flags_given;  // --task, --batch-size, --seq-len, --dtype as typed (refused with --input)
};

struct TrainSummary {
  std::vector<double> losses;
  double seconds = 0;
  std::size_t steps_run = 0;
  std::filesystem::path csv, checkpoint, plot;  // plot empty when none was drawn
};

// Thrown when the loss or the gradient norm stops being finite.
struct Diverged : Error {
  using Error::Error;
};

// Trains; `after` (optional) sees the trained model (double runs only). Throws
// rwd::Error on bad input before writing anything. `team` (optional): the
// processes training together under mpirun (app/distributed.hpp); alone without it.
TrainSummary run_training(const TrainConfig& config,
                          const std::function<void(SequenceModel<double>&)>& after = {}, const Team* team = nullptr);

}  // namespace rwd::app
