#include "sgd.hpp"

#include <cmath>

#include <xtensor/xnoalias.hpp>

namespace rwd::optim {

void SGDOptions::validate(const std::string& optimizer) const {
  if (std::isnan(lr)) throw Error(optimizer + ": lr is required (SGD has no default learning rate)");
  detail::check_option(lr >= 0, optimizer, "learning rate", lr, "lr >= 0");
  detail::check_option(momentum >= 0, optimizer, "momentum", momentum, "momentum >= 0");
  detail::check_option(weight_decay >= 0, optimizer, "weight_decay", weight_decay, "weight_decay >= 0");
  detail::check_option(std::isfinite(dampening), optimizer, "dampening", dampening, "a finite number");
  if (nesterov && (momentum <= 0 || dampening != 0))
    throw Error(optimizer + ": nesterov momentum requires a momentum and zero dampening, got momentum=" +
                detail::format_number(momentum) + ", dampening=" + detail::format_number(dampening));
}

template <class T>
SGD<T>::SGD(std::vector<Tensor<T>> params, SGDOptions options)
    : SGD(std::vector<Group>{{std::move(params), options}}, options) {}

template <class T>
SGD<T>::SGD(const nn::Module<T>& module, SGDOptions options) : SGD(module.parameters(), options) {}

template <class T>
SGD<T>::SGD(std::vector<Group> groups, SGDOptions defaults)
    : OptimizerWithOptions<T, SGDOptions>(std::move(groups), defaults, "SGD") {
  this->allocate_state();
}

template <class T>
std::vector<std::string> SGD<T>::buffer_names(const SGDOptions& options) const {
  if (options.momentum != 0) return {"momentum_buffer"};
  return {};
}

// PyTorch 1.13, torch.optim.SGD (γ lr, λ weight_decay, μ momentum, τ dampening):
//   g_t ← ∇f(θ_{t-1})
//   if λ ≠ 0:  g_t ← g_t + λ θ_{t-1}
//   if μ ≠ 0:
//     b_t ← g_t                        if t = 1
//     b_t ← μ b_{t-1} + (1 − τ) g_t    otherwise
//     g_t ← g_t + μ b_t  if nesterov,  else g_t ← b_t
//   θ_t ← θ_{t-1} − γ g_t
// (t counts this parameter's own updates: a parameter first reached late
// starts its buffer from its first gradient, as PyTorch's lazy state does.)
template <class T>
void SGD<T>::update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) {
  const SGDOptions& o = this->options_[group];
  const T lr = static_cast<T>(o.lr), momentum = static_cast<T>(o.momentum);
  const T dampening_complement = static_cast<T>(1 - o.dampening), weight_decay = static_cast<T>(o.weight_decay);
  // g is a lazy expression (the raw gradient, or g + λθ): nothing is allocated.
  auto apply = [&](const auto& g) {
    if (o.momentum == 0) {
      xt::noalias(param) -= lr * g;
      return;
    }
    xt::xarray<T>& buffer = state.buffers[0];
    if (state.step == 1)
      xt::noalias(buffer) = g;
    else
      xt::noalias(buffer) = momentum * buffer + dampening_complement * g;
    if (o.nesterov)
      xt::noalias(param) -= lr * (g + momentum * buffer);
    else
      xt::noalias(param) -= lr * buffer;
  };
  if (o.weight_decay != 0)
    apply(grad + weight_decay * param);
  else
    apply(grad);
}

template class SGD<float>;
template class SGD<double>;

}  // namespace rwd::optim
