#include <algorithm>
#include <cmath>
#include <string>

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xoperation.hpp>

#include "op_support.hpp"
#include "vector_math.hpp"
#include "instantiate.hpp"

namespace rwd {

using detail::constant;
using detail::evaluate;
using detail::if_needed;
using detail::map_values;
using detail::pointwise_grad;

// y = e^x                       dy/dx = g ⊙ y
template <class T>
Tensor<T> exp(const Tensor<T>& x) {
  xt::xarray<T> value = new_array<T>(x.shape());
  xt::noalias(value) = xt::exp(x.value());
  return record<T>("exp", std::move(value), {x},
                   [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{g * y}; });
}

// y = ln x                      dy/dx = g / x
template <class T>
Tensor<T> log(const Tensor<T>& x) {
  return record<T>("log", evaluate<T>(xt::log(x.value())), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{g / in[0]}; });
}

// y = tanh x                    dy/dx = g ⊙ (1 - y²)
template <class T>
Tensor<T> tanh(const Tensor<T>& x) {
  xt::xarray<T> value = new_array<T>(x.shape());
  vector_math::tanh(x.data(), value.data(), value.size());
  return record<T>(
      "tanh", std::move(value), {x},
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{pointwise_grad(g, y, [](T v) { return T(1) - v * v; })}; },
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{g * (T(1) - y * y)}; });
}

// y = 1 / (1 + e^-x)            dy/dx = g ⊙ y ⊙ (1 - y)
template <class T>
Tensor<T> sigmoid(const Tensor<T>& x) {
  xt::xarray<T> value = new_array<T>(x.shape());
  vector_math::sigmoid(x.data(), value.data(), value.size());
  return record<T>(
      "sigmoid", std::move(value), {x},
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{pointwise_grad(g, y, [](T v) { return v * (T(1) - v); })}; },
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{g * y * (T(1) - y)}; });
}

// y = max(x, 0)                 dy/dx = g ⊙ [x > 0]
template <class T>
Tensor<T> relu(const Tensor<T>& x) {
  return record<T>("relu", map_values<T>(x.value(), [](T v) { return v > T(0) ? v : T(0); }), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{g * constant<T>(xt::cast<T>(in[0].value() > T(0)))};
                   });
}

// y = ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|)   (no overflow)      dy/dx = g ⊙ sigmoid(x)
template <class T>
Tensor<T> softplus(const Tensor<T>& x) {
  const auto& v = x.value();
  return record<T>("softplus", evaluate<T>(xt::maximum(v, T(0)) + xt::log1p(xt::exp(-xt::abs(v)))), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{g * sigmoid(in[0])}; });
}

// y = x^p                       dy/dx = g ⊙ p x^(p-1)
template <class T>
Tensor<T> pow(const Tensor<T>& x, T exponent) {
  auto power = [exponent](T v) { return exponent == T(2) ? v * v : std::pow(v, exponent); };
  return record<T>("pow", map_values<T>(x.value(), power), {x},
                   [exponent](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{g * pow(in[0], exponent - T(1)) * exponent};
                   });
}

// y = √x                        dy/dx = g / (2y)
template <class T>
Tensor<T> sqrt(const Tensor<T>& x) {
  return record<T>("sqrt", evaluate<T>(xt::sqrt(x.value())), {x},
                   [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{g / (y * T(2))}; });
}

// y = |x|                       dy/dx = g ⊙ sign(x)
template <class T>
Tensor<T> abs(const Tensor<T>& x) {
  return record<T>("abs", evaluate<T>(xt::abs(x.value())), {x}, [](const auto& in, const auto&, const Tensor<T>& g) {
    return Grads<T>{g * constant<T>(xt::sign(in[0].value()))};
  });
}

// y = min(max(x, low), high)    dy/dx = g ⊙ [low ≤ x ≤ high]
template <class T>
Tensor<T> clamp(const Tensor<T>& x, T low, T high) {
  if (!(low <= high))
    throw Error("clamp: low (" + std::to_string(low) + ") is greater than high (" + std::to_string(high) + ")");
  return record<T>("clamp", evaluate<T>(xt::clip(x.value(), low, high)), {x},
                   [low, high](const auto& in, const auto&, const Tensor<T>& g) {
                     const auto& v = in[0].value();
                     return Grads<T>{g * constant<T>(xt::cast<T>(v >= low && v <= high))};
                   });
}

// y = mask ? a : b              dy/da = g ⊙ m,  dy/db = g ⊙ (1 - m)     (m = [mask ≠ 0], a constant)
template <class T>
Tensor<T> where(const Tensor<T>& mask, const Tensor<T>& a, const Tensor<T>& b) {
  broadcast_shapes("where", mask.shape(), broadcast_shapes("where", a.shape(), b.shape()));
  if (mask.requires_grad()) throw Error("where: the mask must not require grad");
  Tensor<T> m = constant<T>(xt::cast<T>(xt::not_equal(mask.value(), T(0))));
  return record<T>("where", evaluate<T>(xt::where(xt::not_equal(m.value(), T(0)), a.value(), b.value())), {a, b},
                   [m](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{if_needed(in, 0, [&] { return sum_to(g * m, in[0].shape()); }),
                                     if_needed(in, 1, [&] { return sum_to(g * (T(1) - m), in[1].shape()); })};
                   });
}

// ---- the ops a custom cell needs (issue 26) ---------------------------------

// y = 1/√x                      dy/dx = -g y³ / 2
template <class T>
Tensor<T> rsqrt(const Tensor<T>& x) {
  return record<T>(
      "rsqrt", map_values<T>(x.value(), [](T v) { return T(1) / std::sqrt(v); }), {x},
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) {
        return Grads<T>{pointwise_grad(g, y, [](T v) { return T(-0.5) * v * v * v; })};
      },
      [](const auto&, const Tensor<T>& y, const Tensor<T>& g) { return Grads<T>{g * (y * y * y) * T(-0.5)}; });
}

// y = sin x                     dy/dx = g ⊙ cos x
template <class T>
Tensor<T> sin(const Tensor<T>& x) {
  return record<T>("sin", map_values<T>(x.value(), [](T v) { return std::sin(v); }), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{g * cos(in[0])}; });
}

// y = cos x                     dy/dx = -g ⊙ sin x
template <class T>
Tensor<T> cos(const Tensor<T>& x) {
  return record<T>("cos", map_values<T>(x.value(), [](T v) { return std::cos(v); }), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{neg(g * sin(in[0]))}; });
}

// y = log σ(x) = min(x, 0) - ln(1 + e^-|x|)   (no overflow)       dy/dx = g ⊙ σ(-x)
template <class T>
Tensor<T> log_sigmoid(const Tensor<T>& x) {
  auto f = [](T v) { return std::min(v, T(0)) - std::log1p(std::exp(-std::abs(v))); };
  return record<T>("log_sigmoid", map_values<T>(x.value(), f), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{g * sigmoid(neg(in[0]))}; });
}

namespace {

constexpr double sqrt1_2 = 0.70710678118654752440;      // 1/√2
constexpr double inv_sqrt_2pi = 0.39894228040143267794; // 1/√(2π)
constexpr double sqrt_2_pi = 0.79788456080286535588;    // √(2/π)
constexpr double kappa = 0.044715;                      // the tanh form's cubic coefficient

// φ(x) = e^(-x²/2) / √(2π), the standard normal density, as ops (differentiable to any order).
template <class T>
Tensor<T> normal_pdf(const Tensor<T>& x) {
  return exp(x * x * T(-0.5)) * T(inv_sqrt_2pi);
}

// y = Φ(x) = (1 + erf(x/√2)) / 2                dy/dx = g ⊙ φ(x)
template <class T>
Tensor<T> normal_cdf(const Tensor<T>& x) {
  return record<T>("normal_cdf", map_values<T>(x.value(), [](T v) { return T(0.5) * (T(1) + std::erf(v * T(sqrt1_2))); }),
                   {x}, [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{g * normal_pdf(in[0])}; });
}

// The two forms of gelu and their derivatives, per element (PyTorch's formulas).
template <class T>
T gelu_value(T v, bool tanh_form) {
  if (!tanh_form) return v * T(0.5) * (T(1) + std::erf(v * T(sqrt1_2)));
  return T(0.5) * v * (T(1) + std::tanh(T(sqrt_2_pi) * (v + T(kappa) * v * v * v)));
}
template <class T>
T gelu_derivative(T v, bool tanh_form) {
  if (!tanh_form)  // Φ(x) + x φ(x)
    return T(0.5) * (T(1) + std::erf(v * T(sqrt1_2))) + v * T(inv_sqrt_2pi) * std::exp(T(-0.5) * v * v);
  const T t = std::tanh(T(sqrt_2_pi) * (v + T(kappa) * v * v * v));
  return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * T(sqrt_2_pi) * (T(1) + T(3 * kappa) * v * v);
}
// The same derivatives as ops of x (recorded under create_graph).
template <class T>
Tensor<T> gelu_derivative(const Tensor<T>& x, bool tanh_form) {
  if (!tanh_form) return normal_cdf(x) + x * normal_pdf(x);
  const Tensor<T> t = tanh((x + x * x * x * T(kappa)) * T(sqrt_2_pi));
  return (t + T(1)) * T(0.5) + x * (T(1) - t * t) * (x * x * T(3 * kappa) + T(1)) * T(0.5 * sqrt_2_pi);
}

}  // namespace

// y = gelu(x)                   dy/dx = g ⊙ gelu'(x)   (Φ(x) + x φ(x) for the exact form)
template <class T>
Tensor<T> gelu(const Tensor<T>& x, const std::string& approximate) {
  if (approximate != "none" && approximate != "tanh")
    throw Error("gelu: approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
  const bool tanh_form = approximate == "tanh";
  return record<T>(
      "gelu", map_values<T>(x.value(), [tanh_form](T v) { return gelu_value(v, tanh_form); }), {x},
      [tanh_form](const auto& in, const auto&, const Tensor<T>& g) {
        return Grads<T>{Tensor<T>(detail::zip_values<T>(
            g.value(), in[0].value(), [tanh_form](T gi, T v) { return gi * gelu_derivative(v, tanh_form); }))};
      },
      [tanh_form](const auto& in, const auto&, const Tensor<T>& g) {
        return Grads<T>{g * gelu_derivative(in[0], tanh_form)};
      });
}

#define REWIND_INSTANTIATE(T)                                                               \
  template Tensor<T> exp<T>(const Tensor<T>&);                                       \
  template Tensor<T> log<T>(const Tensor<T>&);                                       \
  template Tensor<T> tanh<T>(const Tensor<T>&);                                      \
  template Tensor<T> sigmoid<T>(const Tensor<T>&);                                   \
  template Tensor<T> relu<T>(const Tensor<T>&);                                      \
  template Tensor<T> softplus<T>(const Tensor<T>&);                                  \
  template Tensor<T> pow<T>(const Tensor<T>&, T);                                    \
  template Tensor<T> sqrt<T>(const Tensor<T>&);                                      \
  template Tensor<T> abs<T>(const Tensor<T>&);                                       \
  template Tensor<T> clamp<T>(const Tensor<T>&, T, T);                               \
  template Tensor<T> where<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);  \
  template Tensor<T> rsqrt<T>(const Tensor<T>&);                                     \
  template Tensor<T> sin<T>(const Tensor<T>&);                                       \
  template Tensor<T> cos<T>(const Tensor<T>&);                                       \
  template Tensor<T> log_sigmoid<T>(const Tensor<T>&);                               \
  template Tensor<T> gelu<T>(const Tensor<T>&, const std::string&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
