// RMSprop (PyTorch's torch.optim.RMSprop): divides the gradient by a running
// root mean square of recent gradients; optionally centered and with momentum.
#pragma once

#include <string>
#include <vector>

#include "optimizer.hpp"

namespace rwd::optim {

struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;

  // lr, alpha, eps, weight_decay, momentum >= 0 (PyTorch's checks).
  void validate(const std::string& optimizer) const;
  template <class F>
  void visit(F&& f) {
    f("lr", lr), f("alpha", alpha), f("eps", eps), f("weight_decay", weight_decay), f("momentum", momentum),
        f("centered", centered);
  }
};

template <class T>
class RMSprop : public OptimizerWithOptions<T, RMSpropOptions> {
 public:
  using Group = ParamGroup<T, RMSpropOptions>;

  RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options = {});
  RMSprop(const nn::Module<T>& module, RMSpropOptions options = {});
  // `defaults`: the options of groups added later with add_param_group.
  explicit RMSprop(std::vector<Group> groups, RMSpropOptions defaults = {});

  std::string name() const override { return "RMSprop"; }

 protected:
  void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) override;
  // "square_avg", then "momentum_buffer" when momentum > 0, then "grad_avg" when centered.
  std::vector<std::string> buffer_names(const RMSpropOptions& options) const override;
};

}  // namespace rwd::optim
