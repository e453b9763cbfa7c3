#include "lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace rwd::optim {

LRScheduler::LRScheduler(OptimizerBase& optimizer) : optimizer_(optimizer) {
  for (std::size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::start() {
  last_epoch_ = 0;
  apply();
}

void LRScheduler::apply() {
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lr_at(base_lrs_[g], last_epoch_));
}

void LRScheduler::step() {
  ++last_epoch_;
  apply();
}

std::vector<double> LRScheduler::get_last_lr() const {
  std::vector<double> lrs;
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(lr_at(base_lrs_[g], last_epoch_));
  return lrs;
}

StateDict LRScheduler::state_dict() const {
  StateDict out;
  xt::xarray<double> epoch = xt::xarray<double>::from_shape({});
  epoch() = static_cast<double>(last_epoch_);
  out["last_epoch"] = std::move(epoch);
  xt::xarray<double> base = xt::xarray<double>::from_shape({base_lrs_.size()});
  std::copy(base_lrs_.begin(), base_lrs_.end(), base.begin());
  out["base_lrs"] = std::move(base);
  return out;
}

void LRScheduler::load_state_dict(const StateDict& state) {
  const std::string who = "LRScheduler: load_state_dict";
  for (const auto& [key, _] : state)
    if (key != "last_epoch" && key != "base_lrs") throw Error(who + ": unexpected entry '" + key + "'");
  auto epoch = state.find("last_epoch");
  auto base = state.find("base_lrs");
  if (epoch == state.end() || base == state.end())
    throw Error(who + ": the state needs 'last_epoch' and 'base_lrs'");
  const double e = epoch->second.size() == 1 ? *epoch->second.data() : -1.0;
  if (!(e >= 0) || e != std::floor(e))
    throw Error(who + ": 'last_epoch' must be one non-negative integer, got " +
                (epoch->second.size() == 1 ? detail::format_number(e) : "an array"));
  if (base->second.dimension() != 1 || base->second.size() != base_lrs_.size())
    throw Error(who + ": 'base_lrs' has " + std::to_string(base->second.size()) + " values, expected " +
                std::to_string(base_lrs_.size()) + " (one per parameter group)");
  for (double lr : base->second) detail::check_option(lr >= 0, who, "base lr", lr, "lr >= 0");
  last_epoch_ = static_cast<std::int64_t>(e);
  base_lrs_.assign(base->second.begin(), base->second.end());
}

// ---- StepLR -----------------------------------------------------------------

StepLR::StepLR(OptimizerBase& optimizer, std::int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size < 1) throw Error("StepLR: invalid step_size: got " + std::to_string(step_size) + ", expected >= 1");
  detail::check_option(gamma >= 0 && std::isfinite(gamma), "StepLR", "gamma", gamma, "a finite gamma >= 0");
  start();
}

double StepLR::lr_at(double base_lr, std::int64_t epoch) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

// ---- ExponentialLR ------------------------------------------------------------

ExponentialLR::ExponentialLR(OptimizerBase& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  detail::check_option(gamma >= 0 && std::isfinite(gamma), "ExponentialLR", "gamma", gamma, "a finite gamma >= 0");
  start();
}

double ExponentialLR::lr_at(double base_lr, std::int64_t epoch) const {
  return base_lr * std::pow(gamma_, static_cast<double>(epoch));
}

// ---- CosineAnnealingLR ------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(OptimizerBase& optimizer, std::int64_t T_max, double eta_min)
    : LRScheduler(optimizer), T_max_(T_max), eta_min_(eta_min) {
  if (T_max < 1)
    throw Error("CosineAnnealingLR: invalid T_max: got " + std::to_string(T_max) + ", expected >= 1");
  detail::check_option(eta_min >= 0, "CosineAnnealingLR", "eta_min", eta_min, "eta_min >= 0");
  start();
}

double CosineAnnealingLR::lr_at(double base_lr, std::int64_t epoch) const {
  return eta_min_ + (base_lr - eta_min_) *
                        (1 + std::cos(std::numbers::pi * static_cast<double>(epoch) / static_cast<double>(T_max_))) /
                        2;
}

// ---- LinearWarmup -------------------------------------------------------------

LinearWarmup::LinearWarmup(OptimizerBase& optimizer, double start_factor, std::int64_t warmup_steps)
    : LRScheduler(optimizer), start_factor_(start_factor), warmup_steps_(warmup_steps) {
  detail::check_option(start_factor >= 0 && start_factor <= 1, "LinearWarmup", "start_factor", start_factor,
                       "0 <= start_factor <= 1");
  if (warmup_steps < 1)
    throw Error("LinearWarmup: invalid warmup_steps: got " + std::to_string(warmup_steps) + ", expected >= 1");
  start();
}

double LinearWarmup::lr_at(double base_lr, std::int64_t epoch) const {
  const double progress =
      static_cast<double>(std::min(epoch, warmup_steps_)) / static_cast<double>(warmup_steps_);
  return base_lr * (start_factor_ + (1.0 - start_factor_) * progress);
}

// ---- SequentialLR ---------------------------------------------------------------

namespace {
// The children of a SequentialLR or ChainedScheduler: at least one, none null,
// all driving `optimizer`. Returns the first one's base lrs.
std::vector<double> check_children(const char* who, const OptimizerBase& optimizer,
                                   const std::vector<std::shared_ptr<LRScheduler>>& schedulers) {
  if (schedulers.empty()) throw Error(std::string(who) + ": got no schedulers, expected at least one");
  for (std::size_t i = 0; i < schedulers.size(); ++i) {
    if (!schedulers[i]) throw Error(std::string(who) + ": scheduler " + std::to_string(i) + " is null");
    if (&schedulers[i]->optimizer() != &optimizer)
      throw Error(std::string(who) + ": scheduler " + std::to_string(i) +
                  " drives another optimizer, expected all to drive the one given");
  }
  return schedulers[0]->base_lrs();
}
}  // namespace

SequentialLR::SequentialLR(OptimizerBase& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<std::int64_t> milestones)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)), milestones_(std::move(milestones)) {
  base_lrs_ = check_children("SequentialLR", optimizer, schedulers_);
  if (milestones_.size() + 1 != schedulers_.size())
    throw Error("SequentialLR: expects one milestone fewer than schedulers, got " +
                std::to_string(schedulers_.size()) + " schedulers and " + std::to_string(milestones_.size()) +
                " milestones");
  for (std::size_t i = 0; i < milestones_.size(); ++i)
    if (milestones_[i] < 1 || (i > 0 && milestones_[i] <= milestones_[i - 1]))
      throw Error("SequentialLR: milestones must be positive and increasing, got " +
                  std::to_string(milestones_[i]) + " at position " + std::to_string(i));
  start();
}

double SequentialLR::lr_at(double base_lr, std::int64_t epoch) const {
  const auto index = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), epoch) -
                                              milestones_.begin());
  const std::int64_t offset = index == 0 ? 0 : milestones_[index - 1];
  return schedulers_[index]->lr_at(base_lr, epoch - offset);
}

// ---- ChainedScheduler -------------------------------------------------------------

ChainedScheduler::ChainedScheduler(OptimizerBase& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)) {
  base_lrs_ = check_children("ChainedScheduler", optimizer, schedulers_);
  start();
}

double ChainedScheduler::lr_at(double base_lr, std::int64_t epoch) const {
  if (base_lr == 0) return 0;
  double lr = base_lr;
  for (const auto& scheduler : schedulers_) lr *= scheduler->lr_at(base_lr, epoch) / base_lr;
  return lr;
}

}  // namespace rwd::optim
