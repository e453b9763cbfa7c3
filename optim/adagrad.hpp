// Adagrad (PyTorch's torch.optim.Adagrad): per-element step sizes shrinking
// with the accumulated sum of squared gradients.
#pragma once

#include <string>
#include <vector>

#include "optimizer.hpp"

namespace rwd::optim {

struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;

  // lr, lr_decay, weight_decay, initial_accumulator_value, eps >= 0.
  void validate(const std::string& optimizer) const;
  template <class F>
  void visit(F&& f) {
    f("lr", lr), f("lr_decay", lr_decay), f("weight_decay", weight_decay),
        f("initial_accumulator_value", initial_accumulator_value), f("eps", eps);
  }
};

template <class T>
class Adagrad : public OptimizerWithOptions<T, AdagradOptions> {
 public:
  using Group = ParamGroup<T, AdagradOptions>;

  Adagrad(std::vector<Tensor<T>> params, AdagradOptions options = {});
  Adagrad(const nn::Module<T>& module, AdagradOptions options = {});
  // `defaults`: the options of groups added later with add_param_group.
  explicit Adagrad(std::vector<Group> groups, AdagradOptions defaults = {});

  std::string name() const override { return "Adagrad"; }

 protected:
  void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) override;
  std::vector<std::string> buffer_names(const AdagradOptions& options) const override;  // "sum"
  double initial_buffer_value(const AdagradOptions& options, std::size_t buffer) const override;
};

}  // namespace rwd::optim
