// Adam and AdamW (PyTorch's torch.optim.Adam and torch.optim.AdamW): adaptive
// moment estimation, with L2 weight decay folded into the gradient (Adam) or
// decoupled from it and applied to the weights directly (AdamW).
#pragma once

#include <array>
#include <string>
#include <vector>

#include "optimizer.hpp"

namespace rwd::optim {

struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;

  // lr >= 0, 0 <= beta < 1, eps >= 0, weight_decay >= 0.
  void validate(const std::string& optimizer) const;
  template <class F>
  void visit(F&& f) {
    f("lr", lr), f("betas", betas), f("eps", eps), f("weight_decay", weight_decay), f("amsgrad", amsgrad);
  }
};

// AdamW's options differ from Adam's only by the default weight decay (1e-2).
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas{0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;

  void validate(const std::string& optimizer) const;
  template <class F>
  void visit(F&& f) {
    f("lr", lr), f("betas", betas), f("eps", eps), f("weight_decay", weight_decay), f("amsgrad", amsgrad);
  }
};

template <class T>
class Adam : public OptimizerWithOptions<T, AdamOptions> {
 public:
  using Group = ParamGroup<T, AdamOptions>;

  Adam(std::vector<Tensor<T>> params, AdamOptions options = {});
  Adam(const nn::Module<T>& module, AdamOptions options = {});
  // `defaults`: the options of groups added later with add_param_group.
  explicit Adam(std::vector<Group> groups, AdamOptions defaults = {});

  std::string name() const override { return "Adam"; }

 protected:
  void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) override;
  // "exp_avg", "exp_avg_sq", and "max_exp_avg_sq" with amsgrad.
  std::vector<std::string> buffer_names(const AdamOptions& options) const override;
};

template <class T>
class AdamW : public OptimizerWithOptions<T, AdamWOptions> {
 public:
  using Group = ParamGroup<T, AdamWOptions>;

  AdamW(std::vector<Tensor<T>> params, AdamWOptions options = {});
  AdamW(const nn::Module<T>& module, AdamWOptions options = {});
  // `defaults`: the options of groups added later with add_param_group.
  explicit AdamW(std::vector<Group> groups, AdamWOptions defaults = {});

  std::string name() const override { return "AdamW"; }

 protected:
  void update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) override;
  std::vector<std::string> buffer_names(const AdamWOptions& options) const override;
};

}  // namespace rwd::optim
