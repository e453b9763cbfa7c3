#include "rmsprop.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace rwd::optim {

void RMSpropOptions::validate(const std::string& optimizer) const {
  detail::check_option(lr >= 0, optimizer, "learning rate", lr, "lr >= 0");
  detail::check_option(eps >= 0, optimizer, "epsilon value", eps, "eps >= 0");
  detail::check_option(momentum >= 0, optimizer, "momentum value", momentum, "momentum >= 0");
  detail::check_option(weight_decay >= 0, optimizer, "weight_decay value", weight_decay, "weight_decay >= 0");
  detail::check_option(alpha >= 0, optimizer, "alpha value", alpha, "alpha >= 0");
}

template <class T>
RMSprop<T>::RMSprop(std::vector<Tensor<T>> params, RMSpropOptions options)
    : RMSprop(std::vector<Group>{{std::move(params), options}}, options) {}

template <class T>
RMSprop<T>::RMSprop(const nn::Module<T>& module, RMSpropOptions options) : RMSprop(module.parameters(), options) {}

template <class T>
RMSprop<T>::RMSprop(std::vector<Group> groups, RMSpropOptions defaults)
    : OptimizerWithOptions<T, RMSpropOptions>(std::move(groups), defaults, "RMSprop") {
  this->allocate_state();
}

template <class T>
std::vector<std::string> RMSprop<T>::buffer_names(const RMSpropOptions& options) const {
  std::vector<std::string> names{"square_avg"};
  if (options.momentum > 0) names.push_back("momentum_buffer");
  if (options.centered) names.push_back("grad_avg");
  return names;
}

// PyTorch 1.13, torch.optim.RMSprop (γ lr, α alpha, λ weight_decay, μ momentum):
//   g_t ← ∇f(θ_{t-1});  if λ ≠ 0: g_t ← g_t + λ θ_{t-1}
//   v_t ← α v_{t-1} + (1 − α) g_t²
//   ṽ_t ← v_t
//   if centered:  g^ave_t ← α g^ave_{t-1} + (1 − α) g_t;   ṽ_t ← ṽ_t − (g^ave_t)²
//   if μ > 0:     b_t ← μ b_{t-1} + g_t / (√ṽ_t + ε);      θ_t ← θ_{t-1} − γ b_t
//   else:         θ_t ← θ_{t-1} − γ g_t / (√ṽ_t + ε)
// (v, b and g^ave start at zero; the square root comes before ε is added.)
template <class T>
void RMSprop<T>::update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) {
  const RMSpropOptions& o = this->options_[group];
  const T lr = static_cast<T>(o.lr), alpha = static_cast<T>(o.alpha), one_minus_alpha = static_cast<T>(1 - o.alpha);
  const T eps = static_cast<T>(o.eps), momentum = static_cast<T>(o.momentum);
  xt::xarray<T>& square_avg = state.buffers[0];
  auto apply = [&](const auto& g) {
    xt::noalias(square_avg) = alpha * square_avg + one_minus_alpha * g * g;
    auto finish = [&](const auto& avg) {  // avg = √ṽ_t + ε, lazily
      if (o.momentum > 0) {
        xt::xarray<T>& buffer = state.buffers[1];
        xt::noalias(buffer) = momentum * buffer + g / avg;
        xt::noalias(param) -= lr * buffer;
      } else {
        xt::noalias(param) -= lr * (g / avg);
      }
    };
    if (o.centered) {
      xt::xarray<T>& grad_avg = state.buffers[o.momentum > 0 ? 2 : 1];
      xt::noalias(grad_avg) = alpha * grad_avg + one_minus_alpha * g;
      finish(xt::sqrt(square_avg - grad_avg * grad_avg) + eps);
    } else {
      finish(xt::sqrt(square_avg) + eps);
    }
  };
  if (o.weight_decay != 0)
    apply(grad + static_cast<T>(o.weight_decay) * param);
  else
    apply(grad);
}

template class RMSprop<float>;
template class RMSprop<double>;

}  // namespace rwd::optim
