#include "adam.hpp"

#include <cmath>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace rwd::optim {

namespace {

void validate_adam(const std::string& optimizer, double lr, const std::array<double, 2>& betas, double eps,
                   double weight_decay) {
  detail::check_option(lr >= 0, optimizer, "learning rate", lr, "lr >= 0");
  detail::check_option(eps >= 0, optimizer, "epsilon value", eps, "eps >= 0");
  detail::check_option(betas[0] >= 0 && betas[0] < 1, optimizer, "beta parameter at index 0", betas[0],
                       "0 <= beta < 1");
  detail::check_option(betas[1] >= 0 && betas[1] < 1, optimizer, "beta parameter at index 1", betas[1],
                       "0 <= beta < 1");
  detail::check_option(weight_decay >= 0, optimizer, "weight_decay value", weight_decay, "weight_decay >= 0");
}

std::vector<std::string> adam_buffers(bool amsgrad) {
  if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

// The moment updates and the step shared by Adam and AdamW, as PyTorch 1.13
// computes them (_single_tensor_adam):
//   m_t ← β1 m_{t-1} + (1 − β1) g_t
//   v_t ← β2 v_{t-1} + (1 − β2) g_t²
//   amsgrad:  v_t^max ← max(v_{t-1}^max, v_t),  v ← v_t^max;  else v ← v_t
//   θ_t ← θ_t − (γ / (1 − β1^t)) · m_t / (√v / √(1 − β2^t) + ε)
// which is γ m̂_t / (√v̂_t + ε) with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t). Note: the
// 1.13 documentation's pseudo-code takes the AMSGrad max over the bias-corrected
// v̂, but the 1.13 code (and the documentation from 2.0 on) takes it over the raw
// second moment v_t, as here; the two differ once 1 − β2^t has changed.
template <class T, class G>
void adam_step(xt::xarray<T>& param, const G& g, ParamState<T>& state, double lr, const std::array<double, 2>& betas,
               double eps, bool amsgrad) {
  // (1 − β) is formed in double and then rounded, as PyTorch's Python floats are.
  const T beta1 = static_cast<T>(betas[0]), beta2 = static_cast<T>(betas[1]);
  const T one_minus_beta1 = static_cast<T>(1 - betas[0]), one_minus_beta2 = static_cast<T>(1 - betas[1]);
  xt::xarray<T>& exp_avg = state.buffers[0];
  xt::xarray<T>& exp_avg_sq = state.buffers[1];
  xt::noalias(exp_avg) = beta1 * exp_avg + one_minus_beta1 * g;
  xt::noalias(exp_avg_sq) = beta2 * exp_avg_sq + one_minus_beta2 * g * g;
  // Bias corrections in double, as Python floats are.
  const double t = static_cast<double>(state.step);
  const double bias_correction1 = 1 - std::pow(betas[0], t);
  const double bias_correction2 = 1 - std::pow(betas[1], t);
  const T step_size = static_cast<T>(lr / bias_correction1);
  const T bias_correction2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
  const T epsilon = static_cast<T>(eps);
  if (amsgrad) {
    xt::xarray<T>& max_exp_avg_sq = state.buffers[2];
    xt::noalias(max_exp_avg_sq) = xt::maximum(max_exp_avg_sq, exp_avg_sq);
    xt::noalias(param) -= step_size * (exp_avg / (xt::sqrt(max_exp_avg_sq) / bias_correction2_sqrt + epsilon));
  } else {
    xt::noalias(param) -= step_size * (exp_avg / (xt::sqrt(exp_avg_sq) / bias_correction2_sqrt + epsilon));
  }
}

}  // namespace

void AdamOptions::validate(const std::string& optimizer) const {
  validate_adam(optimizer, lr, betas, eps, weight_decay);
}
void AdamWOptions::validate(const std::string& optimizer) const {
  validate_adam(optimizer, lr, betas, eps, weight_decay);
}

// ---- Adam ---------------------------------------------------------------------

template <class T>
Adam<T>::Adam(std::vector<Tensor<T>> params, AdamOptions options)
    : Adam(std::vector<Group>{{std::move(params), options}}, options) {}

template <class T>
Adam<T>::Adam(const nn::Module<T>& module, AdamOptions options) : Adam(module.parameters(), options) {}

template <class T>
Adam<T>::Adam(std::vector<Group> groups, AdamOptions defaults)
    : OptimizerWithOptions<T, AdamOptions>(std::move(groups), defaults, "Adam") {
  this->allocate_state();
}

template <class T>
std::vector<std::string> Adam<T>::buffer_names(const AdamOptions& options) const {
  return adam_buffers(options.amsgrad);
}

// PyTorch 1.13, torch.optim.Adam (γ lr, β1 β2 betas, λ weight_decay):
//   g_t ← ∇f(θ_{t-1});  if λ ≠ 0: g_t ← g_t + λ θ_{t-1}   (L2 penalty in the gradient)
//   then the moments and the step of adam_step above.
template <class T>
void Adam<T>::update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) {
  const AdamOptions& o = this->options_[group];
  if (o.weight_decay != 0)
    adam_step(param, grad + static_cast<T>(o.weight_decay) * param, state, o.lr, o.betas, o.eps, o.amsgrad);
  else
    adam_step(param, grad, state, o.lr, o.betas, o.eps, o.amsgrad);
}

// ---- AdamW --------------------------------------------------------------------

template <class T>
AdamW<T>::AdamW(std::vector<Tensor<T>> params, AdamWOptions options)
    : AdamW(std::vector<Group>{{std::move(params), options}}, options) {}

template <class T>
AdamW<T>::AdamW(const nn::Module<T>& module, AdamWOptions options) : AdamW(module.parameters(), options) {}

template <class T>
AdamW<T>::AdamW(std::vector<Group> groups, AdamWOptions defaults)
    : OptimizerWithOptions<T, AdamWOptions>(std::move(groups), defaults, "AdamW") {
  this->allocate_state();
}

template <class T>
std::vector<std::string> AdamW<T>::buffer_names(const AdamWOptions& options) const {
  return adam_buffers(options.amsgrad);
}

// PyTorch 1.13, torch.optim.AdamW (decoupled weight decay):
//   θ_t ← θ_{t-1} − γ λ θ_{t-1}          (the decay acts on the weights, not the gradient)
//   then the moments of the raw gradient g_t and the step of adam_step above.
template <class T>
void AdamW<T>::update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) {
  const AdamWOptions& o = this->options_[group];
  param *= static_cast<T>(1 - o.lr * o.weight_decay);
  adam_step(param, grad, state, o.lr, o.betas, o.eps, o.amsgrad);
}

template class Adam<float>;
template class Adam<double>;
template class AdamW<float>;
template class AdamW<double>;

}  // namespace rwd::optim
