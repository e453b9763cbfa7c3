// Optimizer: updates parameters in place from their accumulated gradients.
//
// As in PyTorch, an optimizer owns parameter groups (each group: its tensors
// and its own options, e.g. its own lr) and per-parameter state (a step count
// and the optimizer's buffers: momentum, moments, ...). The usual loop is
//
//   optimizer.zero_grad();  loss.backward();  optimizer.step();
//
// step() visits every parameter in group order and updates those that have a
// gradient (a parameter with no gradient is skipped: its state and step count
// do not move). Updates run under NoGradGuard on mutable_value(), and the
// state buffers are allocated once, at construction, so a step allocates
// nothing.
//
// State is exported as named arrays (state_dict) so that a run can be saved
// and resumed bit for bit; the names follow PyTorch's state_dict layout:
//   "param_groups.<g>.<option>"  the group's options ("lr", "betas", ...)
//   "param_groups.<g>.params"    the flat indices of the group's parameters
//   "state.<i>.step"             updates received by flat parameter i
//   "state.<i>.<buffer>"         "momentum_buffer", "exp_avg", "sum", ...
//
// Groups can be added after construction (PyTorch's add_param_group), e.g. to
// train a new head with its own lr: options left out take the optimizer's
// defaults (the options given to its constructor):
//   optimizer.add_param_group(head.parameters(), [](AdamOptions& o) { o.lr = 1e-2; });
// A state_dict then has one group more, and loads into an optimizer with the
// same groups.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../autograd/engine.hpp"
#include "../autograd/tensor.hpp"
#include "../nn/module.hpp"

namespace rwd::optim {

// Named arrays: optimizer and scheduler state as exported and loaded. Values
// are doubles whatever the parameter type (float -> double -> float is exact).
using StateDict = std::map<std::string, xt::xarray<double>>;

// A StateDict as a .npz archive (every entry float64, named as in the dict;
// numpy.load reads it), written atomically with io::write_npz; and back
// (float32 and int64 entries are accepted too). Errors name the file.
void write_state_npz(const std::filesystem::path& path, const StateDict& state);
StateDict read_state_npz(const std::filesystem::path& path);

// The parts of an optimizer every optimizer has, independent of the scalar
// type: what LR schedulers and training loops drive.
class OptimizerBase {
 public:
  virtual ~OptimizerBase() = default;
  OptimizerBase() = default;
  OptimizerBase(const OptimizerBase&) = delete;
  OptimizerBase& operator=(const OptimizerBase&) = delete;

  virtual std::string name() const = 0;  // "Adam"
  virtual void step() = 0;               // one update of every parameter that has a gradient
  virtual void zero_grad() = 0;          // drops every parameter's gradient (PyTorch's set_to_none=True)

  virtual std::size_t num_param_groups() const = 0;
  virtual double lr(std::size_t group) const = 0;
  virtual void set_lr(std::size_t group, double lr) = 0;  // lr >= 0, else rwd::Error

  virtual StateDict state_dict() const = 0;
  // Validates everything (names, group sizes, shapes, option values) before
  // changing anything: on error the optimizer is left as it was.
  virtual void load_state_dict(const StateDict& state) = 0;

  // state_dict() to a .npz file, and load_state_dict from one.
  void save(const std::filesystem::path& path) const { write_state_npz(path, state_dict()); }
  void load(const std::filesystem::path& path) { load_state_dict(read_state_npz(path)); }
};

// One parameter's state: how many updates it received (PyTorch's state["step"])
// and the optimizer's buffers, each shaped like the parameter.
template <class T>
struct ParamState {
  std::int64_t step = 0;
  std::vector<xt::xarray<T>> buffers;  // in the order of the optimizer's buffer_names()
};

// A parameter group: tensors updated with the same options.
template <class T, class Options>
struct ParamGroup {
  std::vector<Tensor<T>> params;
  Options options;
};

template <class T>
class Optimizer : public OptimizerBase {
 public:
  void step() override;
  void zero_grad() override;

  std::size_t num_param_groups() const override { return params_.size(); }
  const std::vector<Tensor<T>>& params(std::size_t group) const;
  std::vector<Tensor<T>> all_params() const;  // every group's parameters, in order
  // The state of parameter `index` of `group`.
  const ParamState<T>& state(std::size_t group, std::size_t index) const;

 protected:
  // Validates the parameter lists: none empty, every tensor defined, a leaf
  // that requires grad, and no tensor listed twice.
  Optimizer(std::vector<std::vector<Tensor<T>>> groups, const std::string& name);

  // Appends a group of parameters after validating it as the constructor does
  // (and against every parameter already in a group); its state is left for
  // the caller to push onto states_.
  void append_group(std::vector<Tensor<T>> params);

 private:
  void check_group(const std::vector<Tensor<T>>& params, std::size_t group, bool name_group,
                   const std::string& name) const;

 protected:

  // One parameter's update. `state.step` has already been incremented, so it
  // is t in the update rules; `param` and `grad` have the same shape.
  virtual void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) = 0;

  // Fresh state for every parameter of `group`: step 0 and one buffer per
  // name, filled with its initial value.
  std::vector<ParamState<T>> fresh_states(std::size_t group, const std::vector<std::string>& buffer_names,
                                          const std::vector<double>& initial_values) const;
  // "param_groups.<g>.params" and "state.<i>.*" for every parameter.
  void export_states(const std::vector<std::vector<std::string>>& buffer_names, StateDict& out) const;
  // Reads what export_states wrote, checking names, group sizes and shapes;
  // marks the keys it used in `used`.
  std::vector<std::vector<ParamState<T>>> import_states(const StateDict& in,
                                                        const std::vector<std::vector<std::string>>& buffer_names,
                                                        std::vector<std::string>& used) const;

  std::vector<std::vector<Tensor<T>>> params_;
  std::vector<std::vector<ParamState<T>>> states_;
};

namespace detail {

// Throws "<optimizer>: invalid <what>: got <value>, expected <expected>" unless ok.
void check_option(bool ok, const std::string& optimizer, const std::string& what, double value,
                  const std::string& expected);
std::string format_number(double value);

// Writes and reads a group's options through Options::visit(f), which calls
// f(name, member) for each member (a double, a bool or a std::array<double, 2>).
struct OptionWriter {
  StateDict& out;
  const std::string& prefix;
  void operator()(const char* name, const double& value) const;
  void operator()(const char* name, const bool& value) const;
  void operator()(const char* name, const std::array<double, 2>& value) const;
};
struct OptionReader {
  const StateDict& in;
  const std::string& prefix;
  const std::string& optimizer;
  std::vector<std::string>& used;
  void operator()(const char* name, double& value) const;
  void operator()(const char* name, bool& value) const;
  void operator()(const char* name, std::array<double, 2>& value) const;
};

// Throws naming the first key of `in` that is not in `used`.
void check_all_used(const StateDict& in, std::vector<std::string> used, const std::string& optimizer);
std::size_t count_groups(const StateDict& in, const std::string& optimizer);

}  // namespace detail

// The part shared by optimizers whose groups carry an `Options` struct with an
// `lr` member, `validate(optimizer_name)` and `visit(f)` listing its members.
template <class T, class Options>
class OptimizerWithOptions : public Optimizer<T> {
 public:
  using Group = ParamGroup<T, Options>;

  const Options& options(std::size_t group) const { return options_.at(group); }
  // The options a group added later starts from.
  const Options& defaults() const { return defaults_; }
  double lr(std::size_t group) const override { return options_.at(group).lr; }
  void set_lr(std::size_t group, double lr) override {
    detail::check_option(lr >= 0, this->name(), "learning rate", lr, "lr >= 0");
    options_.at(group).lr = lr;
  }

  // A new parameter group with its own options (validated; its tensors must
  // not be in another group) and fresh state; the schedulers constructed
  // before it do not drive it. The first form takes the defaults, the second
  // the defaults changed by `change`, the third exactly `options`.
  void add_param_group(std::vector<Tensor<T>> params) { add_param_group(std::move(params), defaults_); }
  void add_param_group(std::vector<Tensor<T>> params, const std::function<void(Options&)>& change) {
    Options options = defaults_;
    change(options);
    add_param_group(std::move(params), options);
  }
  void add_param_group(std::vector<Tensor<T>> params, const Options& options) {
    options.validate(this->name() + ": add_param_group");
    this->append_group(std::move(params));
    options_.push_back(options);
    this->states_.push_back(fresh_group_state(options_.size() - 1));
  }

  StateDict state_dict() const override {
    StateDict out;
    std::vector<std::vector<std::string>> names;
    for (std::size_t g = 0; g < options_.size(); ++g) {
      Options copy = options_[g];
      copy.visit(detail::OptionWriter{out, "param_groups." + std::to_string(g) + "."});
      names.push_back(buffer_names(copy));
    }
    this->export_states(names, out);
    return out;
  }

  void load_state_dict(const StateDict& in) override {
    const std::string who = this->name() + ": load_state_dict";
    const std::size_t groups = detail::count_groups(in, who);
    if (groups != options_.size())
      throw Error(who + ": the state has " + std::to_string(groups) + " parameter groups, expected " +
                  std::to_string(options_.size()));
    std::vector<std::string> used;
    std::vector<Options> options = options_;
    std::vector<std::vector<std::string>> names;
    for (std::size_t g = 0; g < options.size(); ++g) {
      options[g].visit(detail::OptionReader{in, "param_groups." + std::to_string(g) + ".", who, used});
      options[g].validate(who);
      names.push_back(buffer_names(options[g]));
    }
    auto states = this->import_states(in, names, used);
    detail::check_all_used(in, std::move(used), who);
    options_ = std::move(options);
    this->states_ = std::move(states);
  }

 protected:
  // `defaults`: what add_param_group starts from (the constructor's options).
  OptimizerWithOptions(std::vector<Group> groups, const Options& defaults, const std::string& name)
      : Optimizer<T>(params_of(groups), name), defaults_(defaults) {
    for (auto& group : groups) {
      group.options.validate(name);
      options_.push_back(group.options);
    }
  }

  // The per-parameter buffers under these options, and the value each starts from.
  virtual std::vector<std::string> buffer_names(const Options& options) const = 0;
  virtual double initial_buffer_value(const Options& /*options*/, std::size_t /*buffer*/) const { return 0.0; }

  // Allocates every parameter's buffers: called once, at the end of the most
  // derived constructor (it uses the virtual functions above).
  void allocate_state() {
    this->states_.clear();
    for (std::size_t g = 0; g < options_.size(); ++g) this->states_.push_back(fresh_group_state(g));
  }

  std::vector<Options> options_;

 private:
  std::vector<ParamState<T>> fresh_group_state(std::size_t group) const {
    auto names = buffer_names(options_[group]);
    std::vector<double> initial;
    for (std::size_t b = 0; b < names.size(); ++b) initial.push_back(initial_buffer_value(options_[group], b));
    return this->fresh_states(group, names, initial);
  }

  Options defaults_;

  static std::vector<std::vector<Tensor<T>>> params_of(const std::vector<Group>& groups) {
    std::vector<std::vector<Tensor<T>>> out;
    for (const auto& group : groups) out.push_back(group.params);
    return out;
  }
};

}  // namespace rwd::optim
