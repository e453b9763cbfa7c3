// The training run behind `rewind train` and the default task.
//
// One step (PyTorch's loop, so a float64 run equals torch doing the same):
//   optimizer.zero_grad(); loss = L(head(rnn(x)), y); loss.backward();
//   clip_grad_norm_(params, clip) if --clip-norm; optimizer.step()
// With --tbptt k the step walks the sequence in windows of k time steps, the
// state carried across windows detached, one update per window (optim/tbptt.hpp).
// Everything the user gave is checked before any file is written.
#include "train.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include <fmt/core.h>
#include <xtensor/xadapt.hpp>

#include <rewind/optim/data_parallel.hpp>

#include "model_file.hpp"
#include "npy_files.hpp"
#include "optimizer_factory.hpp"
#include "render.hpp"
#include "vocabulary.hpp"

namespace rwd::app {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("train: " + what); }

// Draws the loss curve with gnuplot (SVG); returns the plot's path, or empty
// with `note` saying why there is none.
fs::path plot_losses(const fs::path& csv, const fs::path& out_dir, std::string& note) {
  const Rendered plot = plot_with_gnuplot(
      out_dir / "loss.gp",
      fmt::format("set terminal svg size 800,480 dynamic background rgb 'white'\nset datafile separator ','\n"
                  "set logscale y\nset xlabel 'step'\nset ylabel 'loss'\nset grid\n"
                  "plot '{}' using 1:2 skip 1 with lines title 'training loss'\n",
                  csv.string()),
      out_dir / "loss.svg");
  note = "no plot: " + plot.note;
  return plot.svg.value_or(fs::path());
}

// ---- the run -----------------------------------------------------------------------

template <class T>
struct Data {
  TaskKind task = TaskKind::sine;
  std::size_t input_size = 1, output_size = 1;
  bool cross_entropy = false;
  Batch<T> fixed;      // the data set (files): this process's slice of the batch under mpirun
  Batch<T> whole;      // the whole data set (files), for --diagnose on rank 0
  CharCorpus corpus;   // chars
  NumericTable table;  // series
};

// An int64 entry holding one number (train.step, train.seed).
std::int64_t scalar_entry(const io::NpzEntries& entries, const std::string& name, const std::string& source) {
  const xt::xarray<std::int64_t> value = io::npz_get<std::int64_t>(entries, name, source);
  if (value.size() != 1) fail(source + ": entry '" + name + "' holds " + std::to_string(value.size()) + " numbers, expected 1");
  return value.flat(0);
}

template <class T>
class Trainer {
 public:
  Trainer(const TrainConfig& c, const Team& team) : c_(c), team_(team) {}

  TrainSummary run(const std::function<void(SequenceModel<T>&)>& after) {
    team_.agree_on([&] { prepare(); });  // under mpirun: one process's bad input stops all, naming it
    team_.share_model(*model_, start_step_);
    make_replicas();
    return start_step_ == c_.steps ? complete(after) : loop(after);
  }

 private:
  // A weights file given with --resume or --init, and how errors name it.
  struct Weights {
    io::NpzEntries entries;
    std::string source;
  };

  // Everything that can be wrong with the input is found here, before any write.
  void prepare() {
    check_flags();
    if (!c_.input.empty())
      load_input_files();
    else
      load_builtin_data();
    if (c_.tbptt && data_.task != TaskKind::adding && c_.tbptt >= time_steps())
      note_ = fmt::format("note: --tbptt {} >= sequence length {}: full BPTT\n", c_.tbptt, time_steps());
    const std::optional<Weights> weights = read_weights();
    SequenceModelOptions arch = architecture(weights);
    check_data_sizes(weights.has_value());
    build(arch, weights);
    if (!c_.resume.empty()) restore(*weights);
    choose_schedule();
    out_dir_ = c_.out_dir;
    if (fs::exists(out_dir_) && !fs::is_directory(out_dir_))
      fail("--out-dir '" + c_.out_dir + "' exists and is not a directory");
  }

  // The flags that are wrong on their own, whatever the data.
  void check_flags() const {
    if (c_.steps == 0) fail("--steps must be >= 1");
    if (c_.hidden_size == 0) fail("--hidden-size must be >= 1");
    if (c_.num_layers == 0) fail("--num-layers must be >= 1");
    if (!(c_.clip_norm >= 0) || !std::isfinite(c_.clip_norm)) fail("--clip-norm must be a finite number >= 0");
    if (c_.lr && (!std::isfinite(*c_.lr) || *c_.lr < 0)) fail(fmt::format("--lr must be finite and >= 0, got {}", *c_.lr));
    if (c_.checkpoint_every == 0) fail("--checkpoint-every must be >= 1");
    if (c_.threads == 0) fail("--threads must be >= 1");
    if (c_.threads > 1 && c_.tbptt) fail("--threads applies to full BPTT; with --tbptt, train on processes (mpiexec)");
    if (c_.checkpoint_memory_mb && c_.checkpoint_segment)
      fail("--checkpoint-memory and --checkpoint-segment exclude each other (the budget chooses the segments)");
    if (c_.checkpoint_memory_mb && c_.tbptt)
      fail("--checkpoint-memory applies to full BPTT; with --tbptt use --checkpoint-segment");
    if (c_.print_schedule && !c_.checkpoint_memory_mb && !c_.checkpoint_segment)
      fail("--print-schedule needs --checkpoint-segment or --checkpoint-memory");
  }

  // The team's check of the batch, then this process's share of it over --threads.
  void check_batch(std::size_t batch) const {
    team_.check_batch(batch);
    try {
      (void)optim::shard_of(batch / std::size_t(team_.size()), 0, int(c_.threads), "threads");
    } catch (const Error& e) {
      fail(e.what());
    }
  }

  // --input/--target: the whole data set, this process's slice of its batch axis.
  void load_input_files() {
    if (!c_.task_flags_given.empty())
      fail(c_.task_flags_given.front() + " applies to the built-in tasks; with --input every step is one pass over "
           "the whole [T, B, I] array, in its dtype");
    data_.task = TaskKind::files;
    load_files();
    check_batch(data_.fixed.x.shape()[1]);
    data_.whole = data_.fixed;
    data_.fixed = team_.shard(data_.fixed);  // this process's slice of the batch axis
  }

  // A built-in task, --text or --csv: batches drawn per step from the seed.
  void load_builtin_data() {
    if (!c_.target.empty()) fail("--target needs --input");
    if (c_.loss != "mse") fail("--loss applies to --input/--target data; the built-in tasks define their own");
    if (c_.batch_size == 0) fail("--batch-size must be >= 1");
    check_batch(c_.batch_size);
    if (c_.seq_len < 2) fail("--seq-len must be >= 2");
    const bool task_given = std::find(c_.task_flags_given.begin(), c_.task_flags_given.end(), "--task") !=
                            c_.task_flags_given.end();
    if (!c_.text.empty() && !c_.csv.empty()) fail("--text and --csv exclude each other");
    if (task_given && (!c_.text.empty() || !c_.csv.empty()))
      fail(std::string(c_.text.empty() ? "--csv" : "--text") + " is the data: drop --task " + c_.task);
    if (!c_.text.empty()) {
      load_chars(read_text_file(c_.text, "--text"), "--text '" + c_.text + "'");
    } else if (!c_.csv.empty()) {
      load_series();
    } else if (c_.task == "reber") {
      // 2000 strings (~ 24000 characters) from the seed: far more windows than a run draws.
      load_chars(embedded_reber_text(c_.seed, 2000), "the Reber text");
    } else {
      data_.task = c_.task == "adding" ? TaskKind::adding : TaskKind::sine;
      data_.input_size = data_.task == TaskKind::adding ? 2 : 1;
    }
    if (data_.task == TaskKind::adding && c_.tbptt)
      fail("--tbptt does not apply to the adding task (its only loss is at the last step)");
  }

  // The --resume checkpoint or the --init weights, if either is given.
  std::optional<Weights> read_weights() const {
    if (!c_.resume.empty()) {
      if (!c_.init.empty()) fail("--init and --resume exclude each other (a checkpoint holds the weights)");
      Weights w{read_npz_file(c_.resume, "--resume"), "--resume '" + c_.resume + "'"};
      if (!w.entries.count("train.step")) fail(w.source + ": no 'train.step' entry: not a rewind checkpoint");
      return w;
    }
    if (!c_.init.empty()) return Weights{read_npz_file(c_.init, "--init"), "--init '" + c_.init + "'"};
    return std::nullopt;
  }

  // The model's architecture: the flags', or the weights file's where there is one
  // (flags the user typed must agree with it). Sizes from the data come in build().
  SequenceModelOptions architecture(const std::optional<Weights>& weights) {
    SequenceModelOptions arch{.cell = parse_cell_kind(c_.model)};
    arch.hidden_size = c_.hidden_size, arch.num_layers = c_.num_layers;
    LayerFlags layer = c_.layer;  // the layer flags the model gets (the weights file's where it has them)
    if (weights) {
      const Architecture a = architecture_of(weights->entries, weights->source);
      check_flags_against(a, arch.cell, weights->source);
      arch.cell = a.kind, arch.hidden_size = a.hidden, arch.num_layers = a.layers;
      layer.bidirectional = a.bidirectional, layer.no_bias = !a.bias;
      if (a.nonlinearity_recorded) layer.nonlinearity = nn::to_string(a.nonlinearity);
      if (data_.task == TaskKind::files && data_.cross_entropy) data_.output_size = a.output;
    }
    try {
      apply_layer_flags(layer, arch);  // --nonlinearity relu for an lstm/gru: refused
    } catch (const Error& e) {
      fail(std::string(e.what()) + (weights && !c_.explicit_model ? " (the model of " + weights->source + ")" : ""));
    }
    if (arch.bidirectional && c_.tbptt)
      fail("--tbptt does not apply to a bidirectional model (its reverse direction reads the whole sequence first)");
    return arch;
  }

  // The architecture flags the user typed (`kind`: --model's) against the weights file's.
  void check_flags_against(const Architecture& a, CellKind kind, const std::string& weights_source) const {
    if (c_.explicit_model && a.kind != kind)
      fail(weights_source + " holds a " + to_string(a.kind) + " model, but --model is " + c_.model);
    if (c_.explicit_hidden && a.hidden != c_.hidden_size)
      fail(fmt::format("{} has hidden size {}, but --hidden-size is {}", weights_source, a.hidden, c_.hidden_size));
    if (c_.explicit_layers && a.layers != c_.num_layers)
      fail(fmt::format("{} has {} layers, but --num-layers is {}", weights_source, a.layers, c_.num_layers));
    if (c_.output_size && a.output != *c_.output_size)
      fail(fmt::format("{} has {} outputs (head.weight), but --output-size is {}", weights_source, a.output,
                       *c_.output_size));
    if (a.input != data_.input_size)
      fail(fmt::format("{} takes {} input features (weight_ih_l0), the data have {}", weights_source, a.input,
                       data_.input_size));
    if (c_.layer.bidirectional && !a.bidirectional)
      fail(weights_source + " holds a unidirectional model (no rnn.weight_hh_l0_reverse), but --bidirectional is given");
    if (c_.layer.no_bias && a.bias)
      fail(weights_source + " has recurrent biases (rnn.bias_ih_l0), but --no-bias is given");
    if (c_.explicit_nonlinearity && a.nonlinearity_recorded && c_.layer.nonlinearity != nn::to_string(a.nonlinearity))
      fail(fmt::format("{} holds a {} rnn (train.nonlinearity), but --nonlinearity is {}", weights_source,
                       nn::to_string(a.nonlinearity), c_.layer.nonlinearity));
  }

  // rewind grads' size flags, optional: they must say what the data say; and
  // every class index must have an output.
  void check_data_sizes(bool has_weights) {
    if (c_.input_size && *c_.input_size != data_.input_size)
      fail(fmt::format("--input-size is {}, but the data have {} input features per step", *c_.input_size,
                       data_.input_size));
    if (c_.output_size) {
      if (data_.cross_entropy && *c_.output_size >= data_.output_size) data_.output_size = *c_.output_size;  // classes
      if (*c_.output_size != data_.output_size)
        fail(fmt::format("--output-size is {}, but the {} {} outputs per step", *c_.output_size,
                         data_.cross_entropy ? "largest class needs at least" : "data have", data_.output_size));
    }
    if (data_.cross_entropy) {
      for (auto cls : data_.fixed.classes)
        if (cls < 0 || static_cast<std::size_t>(cls) >= data_.output_size)
          fail(fmt::format("--target: class {} outside [0, {}) (the number of outputs{})", cls, data_.output_size,
                           has_weights ? " of head.weight" : ", the largest class + 1"));
    }
  }

  // The model (from the seed, or the weights file's values) and its optimizer.
  void build(SequenceModelOptions arch, const std::optional<Weights>& weights) {
    Generator gen(c_.seed);
    arch.input_size = data_.input_size, arch.output_size = data_.output_size;
    arch.checkpoint_segment = c_.checkpoint_segment;
    model_ = std::make_unique<SequenceModel<T>>(arch, gen);
    if (weights) load_parameters(*model_, weights->entries, weights->source);
    optimizer_ = make_optimizer<T>(c_, *model_);
    params_ = model_->parameters();
  }

  // --threads N: N - 1 more models of the same architecture holding model_'s
  // values, one per thread (optim/data_parallel.hpp), model_ the one stepped.
  void make_replicas() {
    if (c_.threads < 2) return;
    std::vector<std::vector<Tensor<T>>> params{params_};
    Generator gen(c_.seed);
    for (std::size_t i = 1; i < c_.threads; ++i) {
      replicas_.push_back(std::make_unique<SequenceModel<T>>(model_->options(), gen));
      params.push_back(replicas_.back()->parameters());
    }
    parallel_ = std::make_unique<optim::DataParallel<T>>(std::move(params));
    parallel_->copy_parameters();
  }

  // --threads: thread i's shard of this process's batch b: forward, loss, backward; its loss.
  double shard_step(std::size_t i, const Batch<T>& b) const {
    const Batch<T> part = batch_rows(b, optim::shard_of(b.x.shape()[1], int(i), int(c_.threads), "threads"));
    const SequenceModel<T>& model = i == 0 ? *model_ : *replicas_[i - 1];
    const std::size_t length = part.x.shape()[0];
    Tensor<T> loss = loss_of(model.forward(part.x).output, part, 0, length);
    loss.backward();
    return static_cast<double>(loss.item());
  }

  // --resume: the optimizer's state, the step reached and the history so far,
  // from a checkpoint that must belong to this run (seed, text, steps left).
  void restore(const Weights& weights) {
    const io::NpzEntries& w = weights.entries;
    const std::string& weights_source = weights.source;
    optim::StateDict state;
    for (const auto& [name, array] : w)
      if (name.rfind("optimizer.", 0) == 0) state[name.substr(10)] = array.template as<double>(name);
    if (state.empty()) fail(weights_source + ": no optimizer state in the checkpoint");
    optimizer_->load_state_dict(state);
    start_step_ = static_cast<std::size_t>(scalar_entry(w, "train.step", weights_source));
    const xt::xarray<double> losses = io::npz_get<double>(w, "train.losses", weights_source);
    const xt::xarray<double> norms = io::npz_get<double>(w, "train.grad_norms", weights_source);
    losses_.assign(losses.begin(), losses.end());
    grad_norms_.assign(norms.begin(), norms.end());
    if (losses_.size() != start_step_ || norms.size() != start_step_)
      fail(weights_source + ": the loss history does not match train.step");
    const auto seed = static_cast<std::uint64_t>(scalar_entry(w, "train.seed", weights_source));
    if (seed != c_.seed)
      fail(fmt::format("{} was trained with --seed {}, got --seed {} (the data would differ)", weights_source, seed,
                       c_.seed));
    if (data_.task == TaskKind::chars &&
        (!w.count("train.vocabulary") || vocabulary_of(w, weights_source) != data_.corpus.vocabulary))
      fail(weights_source + ": its vocabulary differs from this text's (resume on the same text)");
    if (start_step_ > c_.steps)
      fail(fmt::format("{} is at step {}, past --steps {}: its weights are step {}'s, not step {}'s", weights_source,
                       start_step_, c_.steps, start_step_, c_.steps));
  }

  // Next-character prediction on `text`: one-hot inputs, one class per character.
  void load_chars(const std::string& text, const std::string& source) {
    data_.task = TaskKind::chars;
    data_.corpus = make_char_corpus(text);
    data_.cross_entropy = true;
    data_.input_size = data_.output_size = data_.corpus.vocabulary.size();
    if (data_.corpus.indices.size() < c_.seq_len + 1)
      fail(fmt::format("{} has {} characters; --seq-len {} needs at least {}", source, data_.corpus.indices.size(),
                       c_.seq_len, c_.seq_len + 1));
  }

  // Next-row regression on a numeric CSV file.
  void load_series() {
    data_.task = TaskKind::series;
    data_.table = read_numeric_csv(c_.csv, "--csv");
    data_.input_size = data_.output_size = data_.table.columns;
    if (data_.table.rows < c_.seq_len + 1)
      fail(fmt::format("--csv '{}' has {} rows; --seq-len {} needs at least {}", c_.csv, data_.table.rows, c_.seq_len,
                       c_.seq_len + 1));
  }

  // What the run trains on, for the first line of output.
  std::string data_name() const {
    switch (data_.task) {
      case TaskKind::files: return c_.input;
      case TaskKind::chars: return c_.text.empty() ? "the embedded Reber grammar" : c_.text;
      case TaskKind::series: return c_.csv;
      default: return c_.task;
    }
  }

  std::size_t time_steps() const {
    return data_.task == TaskKind::files ? data_.fixed.x.shape()[0] : c_.seq_len;
  }

  void load_files() {
    if (c_.target.empty()) fail("--input needs --target");
    const io::NpyArray x = read_npy(c_.input, "--input");
    const io::NpyArray y = read_npy(c_.target, "--target");
    if (x.dtype != io::dtype_of<T>()) fail("internal: dtype dispatch");
    if (x.shape.size() != 3 || x.shape[0] == 0 || x.shape[1] == 0 || x.shape[2] == 0)
      fail("--input '" + c_.input + "' has shape " + format_shape(x.shape) + ", expected [T, B, I] (time-major, non-empty)");
    const xt::xarray<T> xv = x.as<T>("--input");
    check_finite(xv, "train: --input '" + c_.input + "'");
    data_.fixed.x = Tensor<T>(xv);
    data_.input_size = x.shape[2];
    data_.cross_entropy = c_.loss == "cross_entropy";
    if (data_.cross_entropy) {
      if (y.dtype != io::DType::Int64 || y.shape.size() != 2 || y.shape[0] != x.shape[0] || y.shape[1] != x.shape[1])
        fail("--target '" + c_.target + "' is " + io::dtype_name(y.dtype) + " " + format_shape(y.shape) +
             ", expected int64 class indices [T, B] = " + format_shape({x.shape[0], x.shape[1]}) +
             " for --loss cross_entropy");
      const xt::xarray<std::int64_t> classes = y.as<std::int64_t>("--target");
      data_.fixed.classes.assign(classes.begin(), classes.end());
      std::int64_t largest = 0;
      for (auto cls : data_.fixed.classes) largest = std::max(largest, cls);
      data_.output_size = static_cast<std::size_t>(largest) + 1;
    } else {
      if (y.dtype != x.dtype || y.shape.size() != 3 || y.shape[0] != x.shape[0] || y.shape[1] != x.shape[1] ||
          y.shape[2] == 0)
        fail("--target '" + c_.target + "' is " + io::dtype_name(y.dtype) + " " + format_shape(y.shape) + ", expected " +
             io::dtype_name(x.dtype) + " [T, B, O] with T, B = " + format_shape({x.shape[0], x.shape[1]}) +
             " for --loss mse");
      const xt::xarray<T> yv = y.as<T>("--target");
      check_finite(yv, "train: --target '" + c_.target + "'");
      data_.fixed.y = Tensor<T>(yv);
      data_.output_size = y.shape[2];
    }
  }

  Batch<T> batch(std::size_t step) const {
    switch (data_.task) {
      case TaskKind::sine: return sine_batch<T>(c_.seq_len, c_.batch_size, c_.seed, step);
      case TaskKind::adding: return adding_batch<T>(c_.seq_len, c_.batch_size, c_.seed, step);
      case TaskKind::chars: return char_batch<T>(data_.corpus, c_.seq_len, c_.batch_size, c_.seed, step);
      case TaskKind::series: return series_batch<T>(data_.table, c_.seq_len, c_.batch_size, c_.seed, step);
      default: return data_.fixed;
    }
  }
  // This process's part of step `step`'s batch (all of it when alone).
  Batch<T> my_batch(std::size_t step) const {
    return data_.task == TaskKind::files ? data_.fixed : team_.shard(batch(step));
  }

  // L over time steps [begin, end) of `output` (which covers exactly those steps).
  Tensor<T> loss_of(const Tensor<T>& output, const Batch<T>& b, std::size_t begin, std::size_t end) const {
    if (data_.task == TaskKind::adding) return nn::mse_loss(select(output, 0, output.shape()[0] - 1), b.y);
    if (data_.cross_entropy) {
      const std::size_t batch = output.shape()[1];
      std::vector<std::int64_t> targets(b.classes.begin() + std::ptrdiff_t(begin * batch),
                                        b.classes.begin() + std::ptrdiff_t(end * batch));
      return nn::cross_entropy(reshape(output, {(end - begin) * batch, data_.output_size}), targets);
    }
    const Tensor<T> y = (begin == 0 && end == b.y.shape()[0]) ? b.y : slice(b.y, 0, begin, end);
    return nn::mse_loss(output, y);
  }

  // Full BPTT under --checkpoint-segment or --checkpoint-memory: the schedule
  // nn::checkpointed_unroll runs (the head and the loss inside its pieces).
  void choose_schedule() {
    if (c_.tbptt || (!c_.checkpoint_segment && !c_.checkpoint_memory_mb)) return;
    const nn::Recurrent<T>& layer = model_->recurrent();
    const std::size_t batch = data_.task == TaskKind::files ? data_.fixed.x.shape()[1] : c_.batch_size;
    try {
      schedule_ = c_.checkpoint_memory_mb
                      ? schedule_for_budget(time_steps(), c_.checkpoint_memory_mb << 20, nn::state_bytes(layer, batch),
                                            nn::estimated_step_bytes(layer, batch))
                      : segment_schedule(time_steps(), c_.checkpoint_segment);
    } catch (const Error& e) {
      fail(fmt::format("--checkpoint-memory {}: {}", c_.checkpoint_memory_mb, e.what()));
    }
    if (layer.num_directions() == 2 && schedule_->kind != CheckpointSchedule::Kind::segments)
      fail(fmt::format("--checkpoint-memory {} is too small for √T segments, and a bidirectional model runs in "
                       "segments only ({})",
                       c_.checkpoint_memory_mb, schedule_->describe()));
  }

  // The loss of one full-BPTT step, L(head(rnn(x)), y): whole, or under the schedule.
  Tensor<T> full_loss(const Batch<T>& b) const {
    const std::size_t length = b.x.shape()[0];
    if (!schedule_) return loss_of(model_->forward(b.x).output, b, 0, length);
    const nn::Linear<T>& head = model_->head();
    // Each piece's mean loss weighted by its share of the steps: the whole
    // sequence's mean (the adding task: the last step's loss alone).
    nn::Readout<T> readout{[this, &b, &head, length](std::size_t first, const Tensor<T>& h) {
                             const std::size_t n = h.size(0);
                             if (data_.task == TaskKind::adding)
                               return first + n == length ? nn::mse_loss(select(head.forward(h), 0, n - 1), b.y)
                                                          : Tensor<T>();
                             return loss_of(head.forward(h), b, first, first + n) * T(double(n) / double(length));
                           },
                           head.parameters()};
    return nn::checkpointed_unroll(model_->recurrent(), b.x, readout, {.schedule = schedule_}).loss;
  }

  // One optimizer update from the gradients in place; returns the gradient norm before clipping.
  double update(std::size_t step) {
    team_.average_gradients(params_);
    const double norm = optim::clip_grad_norm_(params_, c_.clip_norm > 0 ? c_.clip_norm : optim::inf_norm);
    if (!std::isfinite(norm)) diverged(step, "gradient norm", norm);
    optimizer_->step();
    optimizer_->zero_grad();
    if (parallel_) parallel_->copy_parameters();
    return norm;
  }

  [[noreturn]] void diverged(std::size_t step, const std::string& what, double value) {
    if (team_.leader()) write_csv();
    std::string where = last_checkpoint_ ? fmt::format("the last good checkpoint is {} (step {})",
                                                       (out_dir_ / "checkpoint.npz").string(), *last_checkpoint_)
                                         : std::string("no checkpoint was written yet");
    throw Diverged(fmt::format("train: the {} became {} at step {}; stopped, {}", what, value, step, where));
  }

  // One training step (1-based `step`); returns {loss, gradient norm}.
  std::pair<double, double> train_step(std::size_t step) {
    const Batch<T> b = my_batch(step);
    optimizer_->zero_grad();
    const std::size_t length = b.x.shape()[0];
    if (parallel_) {  // --threads: the shards on their threads, their mean gradient in model_
      const double value = team_.mean(parallel_->step([&](std::size_t i) { return shard_step(i, b); }));
      if (!std::isfinite(value)) diverged(step, "loss", value);
      return {value, update(step)};
    }
    if (!c_.tbptt || c_.tbptt >= length) {
      Tensor<T> loss = full_loss(b);
      const double value = team_.mean(static_cast<double>(loss.item()));
      if (!std::isfinite(value)) diverged(step, "loss", value);
      loss.backward();
      return {value, update(step)};
    }
    // Truncated BPTT: windows of k steps; the step's loss is the length-weighted mean.
    const std::size_t batch = b.x.shape()[1], hidden = model_->recurrent().options().hidden_size,
                      layers = model_->recurrent().options().num_layers;
    RecurrentState<T> initial{zeros<T>({layers, batch, hidden})};
    if (model_->kind() == CellKind::lstm) initial.push_back(zeros<T>({layers, batch, hidden}));
    double weighted = 0, max_norm = 0;
    auto chunk = [&](std::size_t begin, std::size_t end, const RecurrentState<T>& state) {
      auto out = model_->forward(slice(b.x, 0, begin, end), state);
      Tensor<T> loss = loss_of(out.output, b, begin, end);
      const double value = team_.mean(static_cast<double>(loss.item()));
      if (!std::isfinite(value)) diverged(step, "loss", value);
      weighted += value * double(end - begin);
      return optim::ChunkOutput<T>{out.state, loss};
    };
    optim::truncated_bptt<T>(length, initial, chunk, [&] { max_norm = std::max(max_norm, update(step)); },
                             optim::TBPTTOptions{.k1 = c_.tbptt});
    return {weighted / double(length), max_norm};
  }

  void write_csv() const {
    std::string text = "step,loss,grad_norm\n";
    for (std::size_t i = 0; i < losses_.size(); ++i)
      text += fmt::format("{},{:.17g},{:.17g}\n", i + 1, losses_[i], grad_norms_[i]);
    write_text_atomically(out_dir_ / "loss.csv", text, "train");
  }

  void write_checkpoint(std::size_t step) {
    io::NpzEntries entries = model_file_entries(*model_);
    for (const auto& [name, value] : optimizer_->state_dict()) entries["optimizer." + name] = value;
    entries["train.step"] = xt::xarray<std::int64_t>{static_cast<std::int64_t>(step)};
    entries["train.seed"] = xt::xarray<std::int64_t>{static_cast<std::int64_t>(c_.seed)};
    entries["train.losses"] = xt::xarray<double>(xt::adapt(losses_, {losses_.size()}));
    entries["train.grad_norms"] = xt::xarray<double>(xt::adapt(grad_norms_, {grad_norms_.size()}));
    if (data_.task == TaskKind::chars) entries["train.vocabulary"] = vocabulary_codes(data_.corpus.vocabulary);
    io::write_npz(out_dir_ / "checkpoint.npz", entries);
    last_checkpoint_ = step;
  }

  // "2 layers, hidden 16, bidirectional, no bias, relu"
  std::string describe_layer() const {
    const SequenceModelOptions& o = model_->options();
    return fmt::format("{} layer{}, hidden {}{}{}{}", o.num_layers, o.num_layers > 1 ? "s" : "", o.hidden_size,
                       o.bidirectional ? ", bidirectional" : "", o.bias ? "" : ", no bias",
                       o.nonlinearity == nn::Nonlinearity::relu ? ", relu" : "");
  }

  // --diagnose: the trained recurrent layer's gradient flow for the training
  // loss on one whole batch (the last step's; the whole data with --input),
  // in eval mode; printed, and written to gradient_flow.csv and its plot.
  void diagnose() {
    const Batch<T> b = data_.task == TaskKind::files ? data_.whole : batch(c_.steps);
    const std::size_t length = b.x.shape()[0];
    const SequenceModel<T>& model = *model_;
    auto loss = [&](const Tensor<T>& output) { return loss_of(model.head().forward(output), b, 0, length); };
    std::string kind = to_string(model_->kind());
    for (char& ch : kind) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    const std::string title = fmt::format("{} ({}, {}) after {} steps", kind, describe_layer(),
                                          io::dtype_name(io::dtype_of<T>()), c_.steps);
    fmt::print("\ndiagnosis: gradient flow of the training loss on one batch of {} sequences of {} steps (eval mode)\n",
               b.x.shape()[1], length);
    report_gradient_flow<T>(model_->recurrent(), b.x, loss, out_dir_, title, "train");
  }

  void progress(std::size_t step, double loss, double rate, bool last) {
    const std::size_t total = c_.steps;
    if (tty_) {
      const std::size_t width = 30, filled = width * step / total;
      fmt::print("\r[{}{}] {}/{}  loss {:.6g}  {:.1f} steps/s\033[K{}", std::string(filled, '#'),
                 std::string(width - filled, '-'), step, total, loss, rate, last ? "\n" : "");
      std::fflush(stdout);
    } else {
      fmt::print("step {}/{}  loss {:.6g}  {:.1f} steps/s\n", step, total, loss, rate);
    }
  }

  // The first lines of output: what trains on what, and the --tbptt note.
  void print_start() const {
    fmt::print("training a {} ({}) on {} with {}: steps {}..{}{}{}{}\n", to_string(model_->kind()), describe_layer(),
               data_name(), optimizer_->name(), start_step_ + 1, c_.steps,
               c_.tbptt ? fmt::format(", truncated BPTT k={}", c_.tbptt) : "",
               team_.size() > 1 ? fmt::format(", {} processes", team_.size()) : "",
               c_.threads > 1 ? fmt::format("{} {} threads", team_.size() > 1 ? " ×" : ",", c_.threads) : "");
    fmt::print("{}", note_);
    if (c_.print_schedule && schedule_) fmt::print("checkpoint schedule: {}\n", schedule_->describe());
  }

  // Rank 0 after the last step: the loss history, --save, the plot, what was
  // written, and --diagnose.
  void finish(TrainSummary& summary) {
    write_csv();
    summary.csv = out_dir_ / "loss.csv";
    summary.checkpoint = out_dir_ / "checkpoint.npz";
    if (!c_.save.empty()) io::write_npz(c_.save, model_file_entries(*model_));
    std::string note;
    summary.plot = plot_losses(summary.csv, out_dir_, note);
    if (summary.steps_run > 0)
      fmt::print("loss {:.6g} -> {:.6g} over {} steps in {:.2f} s ({:.1f} steps/s)\n", losses_.front(), losses_.back(),
                 losses_.size(), summary.seconds, double(summary.steps_run) / std::max(summary.seconds, 1e-9));
    fmt::print("wrote {} (loss history), {} (weights, optimizer state, step){}\n", summary.csv.string(),
               summary.checkpoint.string(), c_.save.empty() ? "" : ", " + c_.save + " (final weights)");
    if (!summary.plot.empty())
      fmt::print("plot: {}\n", summary.plot.string());
    else
      fmt::print("{}\n", note);
    if (c_.diagnose) diagnose();
  }

  // --resume of a run that already reached --steps: nothing to train. It ends
  // as that run ended (checkpoint, loss.csv, --save, the plot, from the
  // checkpoint), so a script that resumes until done may run it once more.
  TrainSummary complete(const std::function<void(SequenceModel<T>&)>& after) {
    TrainSummary summary;
    summary.losses = losses_;
    if (team_.leader()) {
      fs::create_directories(out_dir_);
      fmt::print("{} is at step {} of --steps {}: the run is complete, nothing to train\n", c_.resume, start_step_,
                 c_.steps);
      write_checkpoint(start_step_);
      finish(summary);
    }
    if (after) after(*model_);
    return summary;
  }

  TrainSummary loop(const std::function<void(SequenceModel<T>&)>& after) {
    const bool lead = team_.leader();  // under mpirun, rank 0 alone prints and writes files
    if (lead) fs::create_directories(out_dir_);
    tty_ = ::isatty(::fileno(stdout)) != 0;
    const std::size_t log_every = c_.log_every ? c_.log_every : std::max<std::size_t>(1, c_.steps / 10);
    if (lead) print_start();
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    auto last_print = start;
    std::size_t step = start_step_;
    for (step = start_step_ + 1; step <= c_.steps; ++step) {
      const auto [loss, norm] = train_step(step);
      losses_.push_back(loss);
      grad_norms_.push_back(norm);
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - start).count();
      const double rate = double(step - start_step_) / std::max(seconds, 1e-9);
      const bool last = step == c_.steps;
      if (lead && (tty_ ? (last || std::chrono::duration<double>(now - last_print).count() > 0.1)
                        : (last || step % log_every == 0))) {
        progress(step, loss, rate, last);
        last_print = now;
      }
      if (lead && (step % c_.checkpoint_every == 0 || last)) write_checkpoint(step);
    }
    TrainSummary summary;
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.steps_run = c_.steps - start_step_;
    summary.losses = losses_;
    if (lead) finish(summary);
    if (after) after(*model_);
    return summary;
  }

  const TrainConfig& c_;
  const Team& team_;
  Data<T> data_;
  std::unique_ptr<SequenceModel<T>> model_;
  std::unique_ptr<optim::Optimizer<T>> optimizer_;
  std::vector<Tensor<T>> params_;
  std::vector<std::unique_ptr<SequenceModel<T>>> replicas_;  // --threads: the other threads' models
  std::unique_ptr<optim::DataParallel<T>> parallel_;
  std::vector<double> losses_, grad_norms_;
  std::size_t start_step_ = 0;
  std::optional<std::size_t> last_checkpoint_;
  fs::path out_dir_;
  std::string note_;
  std::optional<CheckpointSchedule> schedule_;  // full BPTT under checkpointing
  bool tty_ = false;
};

}  // namespace

TrainSummary run_training(const TrainConfig& config, const std::function<void(SequenceModel<double>&)>& after,
                          const Team* team) {
  static const Team alone;
  const Team& t = team ? *team : alone;
  bool use_float = config.dtype == "float32";
  t.agree_on([&] {
    if (config.input.empty()) return;
    // The data decide the precision.
    const io::NpyArray x = read_npy(config.input, "--input");
    if (x.dtype == io::DType::Int64) fail("--input '" + config.input + "' is int64, expected float32 or float64");
    use_float = x.dtype == io::DType::Float32;
  });
  if (use_float) {
    if (after) fail("internal: the post-training hook needs float64");
    return Trainer<float>(config, t).run({});
  }
  return Trainer<double>(config, t).run(after);
}

}  // namespace rwd::app
