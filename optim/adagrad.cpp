#include "adagrad.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace rwd::optim {

void AdagradOptions::validate(const std::string& optimizer) const {
  detail::check_option(lr >= 0, optimizer, "learning rate", lr, "lr >= 0");
  detail::check_option(lr_decay >= 0, optimizer, "lr_decay value", lr_decay, "lr_decay >= 0");
  detail::check_option(weight_decay >= 0, optimizer, "weight_decay value", weight_decay, "weight_decay >= 0");
  detail::check_option(initial_accumulator_value >= 0, optimizer, "initial_accumulator_value value",
                       initial_accumulator_value, "initial_accumulator_value >= 0");
  detail::check_option(eps >= 0, optimizer, "epsilon value", eps, "eps >= 0");
}

template <class T>
Adagrad<T>::Adagrad(std::vector<Tensor<T>> params, AdagradOptions options)
    : Adagrad(std::vector<Group>{{std::move(params), options}}, options) {}

template <class T>
Adagrad<T>::Adagrad(const nn::Module<T>& module, AdagradOptions options) : Adagrad(module.parameters(), options) {}

template <class T>
Adagrad<T>::Adagrad(std::vector<Group> groups, AdagradOptions defaults)
    : OptimizerWithOptions<T, AdagradOptions>(std::move(groups), defaults, "Adagrad") {
  this->allocate_state();
}

template <class T>
std::vector<std::string> Adagrad<T>::buffer_names(const AdagradOptions&) const {
  return {"sum"};
}

template <class T>
double Adagrad<T>::initial_buffer_value(const AdagradOptions& options, std::size_t) const {
  return options.initial_accumulator_value;
}

// PyTorch 1.13, torch.optim.Adagrad (γ lr, η lr_decay, λ weight_decay, τ initial_accumulator_value):
//   state_sum_0 ← τ
//   g_t ← ∇f(θ_{t-1})
//   γ̃ ← γ / (1 + (t − 1) η)
//   if λ ≠ 0: g_t ← g_t + λ θ_{t-1}
//   state_sum_t ← state_sum_{t-1} + g_t²
//   θ_t ← θ_{t-1} − γ̃ g_t / (√state_sum_t + ε)
// (The 1.13 pseudo-code omits τ from the initialisation; the 1.13 code, as here,
// starts the sum at initial_accumulator_value.)
template <class T>
void Adagrad<T>::update(std::size_t group, ParamState<T>& state, xt::xarray<T>& param, const xt::xarray<T>& grad) {
  const AdagradOptions& o = this->options_[group];
  const T clr = static_cast<T>(o.lr / (1 + static_cast<double>(state.step - 1) * o.lr_decay));
  const T eps = static_cast<T>(o.eps);
  xt::xarray<T>& sum = state.buffers[0];
  auto apply = [&](const auto& g) {
    xt::noalias(sum) += g * g;
    xt::noalias(param) -= clr * (g / (xt::sqrt(sum) + eps));
  };
  if (o.weight_decay != 0)
    apply(grad + static_cast<T>(o.weight_decay) * param);
  else
    apply(grad);
}

template class Adagrad<float>;
template class Adagrad<double>;

}  // namespace rwd::optim
