#include "clip_grad.hpp"

#include <algorithm>
#include <cmath>

#include "../autograd/engine.hpp"
#include "optimizer.hpp"

namespace rwd::optim {

// total_norm = ‖(‖g_1‖_p, …, ‖g_n‖_p)‖_p = (Σ_i Σ_j |g_ij|^p)^(1/p)
// clip_coef  = max_norm / (total_norm + 1e-6);  g ← g · clip_coef if clip_coef < 1
template <class T>
double clip_grad_norm_(const std::vector<Tensor<T>>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  detail::check_option(max_norm >= 0, "clip_grad_norm_", "max_norm", max_norm, "max_norm >= 0");
  detail::check_option(norm_type > 0, "clip_grad_norm_", "norm_type", norm_type, "norm_type > 0 (or infinity)");
  std::vector<Tensor<T>> grads;
  for (const auto& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;

  double total_norm = 0.0;
  if (std::isinf(norm_type)) {
    for (const auto& g : grads)
      for (T v : g.value()) {
        const double a = std::abs(static_cast<double>(v));
        total_norm = (std::isnan(a) || a > total_norm) ? a : total_norm;
        if (std::isnan(total_norm)) break;
      }
  } else {
    // Sum of |g|^p in double; p = 1 and 2 avoid std::pow.
    double sum = 0.0;
    for (const auto& g : grads)
      for (T v : g.value()) {
        const double a = std::abs(static_cast<double>(v));
        sum += norm_type == 2.0 ? a * a : norm_type == 1.0 ? a : std::pow(a, norm_type);
      }
    total_norm = norm_type == 2.0 ? std::sqrt(sum) : norm_type == 1.0 ? sum : std::pow(sum, 1.0 / norm_type);
  }

  if (!std::isfinite(total_norm)) {
    if (error_if_nonfinite) {
      std::size_t culprit = 0;
      for (std::size_t i = 0; i < params.size(); ++i)
        if (params[i].defined() && params[i].grad().defined()) {
          const auto& value = params[i].grad().value();
          if (std::any_of(value.begin(), value.end(), [](T v) { return !std::isfinite(v); })) {
            culprit = i;
            break;
          }
        }
      throw Error("clip_grad_norm_: the total norm of order " + detail::format_number(norm_type) +
                  " of the gradients is non-finite (" + detail::format_number(total_norm) +
                  "), first non-finite gradient: parameter " + std::to_string(culprit) + " of shape " +
                  format_shape(params[culprit].shape()) + "; the gradients were not clipped");
    }
    return total_norm;  // documented: no clipping with a non-finite norm
  }

  const double clip_coef = max_norm / (total_norm + 1e-6);
  if (clip_coef < 1.0) {
    const T coef = static_cast<T>(clip_coef);
    for (auto& g : grads) g.mutable_value() *= coef;
  }
  return total_norm;
}

// g ← clamp(g, −clip_value, clip_value)
template <class T>
void clip_grad_value_(const std::vector<Tensor<T>>& params, double clip_value) {
  detail::check_option(clip_value >= 0, "clip_grad_value_", "clip_value", clip_value, "clip_value >= 0");
  const T high = static_cast<T>(clip_value), low = -high;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor<T> g = p.grad();
    for (T& v : g.mutable_value()) v = std::clamp(v, low, high);  // NaN stays NaN, as torch.clamp
  }
}

template double clip_grad_norm_<float>(const std::vector<Tensor<float>>&, double, double, bool);
template double clip_grad_norm_<double>(const std::vector<Tensor<double>>&, double, double, bool);
template void clip_grad_value_<float>(const std::vector<Tensor<float>>&, double);
template void clip_grad_value_<double>(const std::vector<Tensor<double>>&, double);

}  // namespace rwd::optim
