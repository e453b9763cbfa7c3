// SGD: stochastic gradient descent, optionally with momentum (PyTorch's torch.optim.SGD).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "optimizer.hpp"

namespace rwd::optim {

struct SGDOptions {
  double lr = std::numeric_limits<double>::quiet_NaN();  // required: PyTorch's SGD has no default lr
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;

  // lr >= 0, momentum >= 0, weight_decay >= 0; nesterov needs momentum > 0 and dampening == 0.
  void validate(const std::string& optimizer) const;
  template <class F>
  void visit(F&& f) {
    f("lr", lr), f("momentum", momentum), f("dampening", dampening), f("weight_decay", weight_decay),
        f("nesterov", nesterov);
  }
};

template <class T>
class SGD : public OptimizerWithOptions<T, SGDOptions> {
 public:
  using Group = ParamGroup<T, SGDOptions>;

  SGD(std::vector<Tensor<T>> params, SGDOptions options);
  SGD(const nn::Module<T>& module, SGDOptions options);
  // `defaults`: the options of groups added later with add_param_group.
  explicit SGD(std::vector<Group> groups, SGDOptions defaults = {});

  std::string name() const override { return "SGD"; }

 protected:
  void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) override;
  // "momentum_buffer" when momentum != 0.
  std::vector<std::string> buffer_names(const SGDOptions& options) const override;
};

}  // namespace rwd::optim
