// Learning-rate schedules (PyTorch's torch.optim.lr_scheduler), usable with any
// optimizer: a scheduler sets the lr of every parameter group of the optimizer
// it drives, once at construction (epoch 0) and then at each step().
//
//   optim::Adam<float> opt(model.parameters(), {.lr = 1e-3});
//   optim::CosineAnnealingLR sched(opt, /*T_max=*/100);
//   for (...) { ...; opt.step(); sched.step(); }
//
// Every schedule here is evaluated in PyTorch's closed form, lr(base_lr, epoch),
// where base_lr is the group's lr when the scheduler was constructed. (PyTorch
// steps most schedules recursively, lr ← lr · factor; the values agree up to
// rounding when nothing else changes the lr.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "optimizer.hpp"

namespace rwd::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  // epoch += 1, then every group's lr ← lr_at(base_lr, epoch).
  void step();
  std::int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  std::vector<double> get_last_lr() const;  // the lrs this scheduler set last
  const OptimizerBase& optimizer() const { return optimizer_; }

  // The schedule's closed form.
  virtual double lr_at(double base_lr, std::int64_t epoch) const = 0;

  // {"last_epoch": scalar, "base_lrs": [groups]}. Loading restores the
  // schedule's position only; the groups' current lrs come back with the
  // optimizer's own state (as in PyTorch).
  StateDict state_dict() const;
  void load_state_dict(const StateDict& state);
  // The same through a .npz file.
  void save(const std::filesystem::path& path) const { write_state_npz(path, state_dict()); }
  void load(const std::filesystem::path& path) { load_state_dict(read_state_npz(path)); }

 protected:
  // Records the groups' current lrs as base lrs; the derived constructor then
  // calls start() to set the epoch-0 lrs.
  explicit LRScheduler(OptimizerBase& optimizer);
  void start();
  void apply();  // every group's lr ← lr_at(base_lr, last_epoch)

  OptimizerBase& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = 0;
};

// lr = base_lr · gamma^⌊epoch / step_size⌋
class StepLR : public LRScheduler {
 public:
  StepLR(OptimizerBase& optimizer, std::int64_t step_size, double gamma = 0.1);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

// lr = base_lr · gamma^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(OptimizerBase& optimizer, double gamma);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  double gamma_;
};

// lr = eta_min + (base_lr − eta_min) · (1 + cos(π · epoch / T_max)) / 2
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(OptimizerBase& optimizer, std::int64_t T_max, double eta_min = 0.0);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::int64_t T_max_;
  double eta_min_;
};

// Linear warm-up (PyTorch's LinearLR with end_factor = 1):
// lr = base_lr · (start_factor + (1 − start_factor) · min(epoch, warmup_steps) / warmup_steps)
class LinearWarmup : public LRScheduler {
 public:
  LinearWarmup(OptimizerBase& optimizer, double start_factor, std::int64_t warmup_steps);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  double start_factor_;
  std::int64_t warmup_steps_;
};

// One schedule after another (PyTorch's SequentialLR): schedulers[i] runs from
// milestones[i-1] on, restarted at its own epoch 0:
//   lr = schedulers[i].lr_at(base_lr, epoch − milestones[i-1])   for milestones[i-1] <= epoch < milestones[i]
// The children must drive the same optimizer; construct them in order before
// this (each sets the lr once on construction; this then resets it to the
// first schedule's epoch-0 value). base_lrs are the first child's.
// E.g. warm-up then cosine decay:
//   auto warm = std::make_shared<LinearWarmup>(opt, 0.1, 5);
//   auto cosine = std::make_shared<CosineAnnealingLR>(opt, 95);
//   SequentialLR sched(opt, {warm, cosine}, {5});
class SequentialLR : public LRScheduler {
 public:
  SequentialLR(OptimizerBase& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
               std::vector<std::int64_t> milestones);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
  std::vector<std::int64_t> milestones_;
};

// Several schedules at once (PyTorch's ChainedScheduler): stepped together,
// their factors multiply. Each child's factor at `epoch` is its lr over the
// base lr, so
//   lr = base_lr · Π_i schedulers[i].lr_at(base_lr, epoch) / base_lr
// (and 0 when base_lr is 0). For schedules whose factor does not depend on
// the lr (StepLR, ExponentialLR, LinearWarmup) this is what PyTorch's
// recursive updates give. As with SequentialLR, the children
// must drive the same optimizer and are constructed before this, which then
// sets the epoch-0 lr; base_lrs are the first child's. E.g. warm-up while
// decaying:
//   auto warm = std::make_shared<LinearWarmup>(opt, 0.1, 5);
//   auto decay = std::make_shared<ExponentialLR>(opt, 0.95);
//   ChainedScheduler sched(opt, {warm, decay});
class ChainedScheduler : public LRScheduler {
 public:
  ChainedScheduler(OptimizerBase& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers);
  double lr_at(double base_lr, std::int64_t epoch) const override;

 private:
  std::vector<std::shared_ptr<LRScheduler>> schedulers_;
};

}  // namespace rwd::optim
