#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <utility>

#include "op_support.hpp"
#include "instantiate.hpp"

namespace rwd {

namespace {

// x's shape must end in normalized_shape (at least one axis, none of size 0);
// weight and bias, when given, must have that shape.
template <class T>
void check_layer_norm(const Tensor<T>& x, const Shape& normalized, const Tensor<T>& weight, const Tensor<T>& bias) {
  if (normalized.empty()) throw Error("layer_norm: normalized_shape is empty; it must name at least one trailing axis");
  const Shape& s = x.shape();
  if (s.size() < normalized.size() || !std::equal(normalized.begin(), normalized.end(), s.end() - normalized.size()))
    throw Error("layer_norm: input of shape " + format_shape(s) + " does not end in normalized_shape " +
                format_shape(normalized));
  if (std::find(normalized.begin(), normalized.end(), 0) != normalized.end())
    throw Error("layer_norm: normalized_shape " + format_shape(normalized) + " has no elements");
  for (const auto& [name, p] : {std::pair{"weight", &weight}, std::pair{"bias", &bias}})
    if (p->defined() && p->shape() != normalized)
      throw Error(std::string("layer_norm: ") + name + " has shape " + format_shape(p->shape()) +
                  ", expected normalized_shape " + format_shape(normalized));
}

// Per row of x seen as [rows, n]: mean μ and rstd = 1/√(σ² + eps) (σ² biased),
// y = (x - μ) rstd w + b.
template <class T>
void layer_norm_rows(const T* x, const T* w, const T* b, std::size_t rows, std::size_t n, double eps, T* y, T* mean,
                     T* rstd) {
  for (std::size_t r = 0; r < rows; ++r, x += n, y += n) {
    T total = 0, squares = 0;
    for (std::size_t j = 0; j < n; ++j) total += x[j];
    const T mu = total / static_cast<T>(n);
    for (std::size_t j = 0; j < n; ++j) squares += (x[j] - mu) * (x[j] - mu);
    const T rs = T(1) / std::sqrt(squares / static_cast<T>(n) + static_cast<T>(eps));
    for (std::size_t j = 0; j < n; ++j) y[j] = (x[j] - mu) * rs * (w ? w[j] : T(1)) + (b ? b[j] : T(0));
    mean[r] = mu;
    rstd[r] = rs;
  }
}

}  // namespace

// y = x̂ ⊙ w + b, x̂ = (x - μ) rstd over the trailing axes (μ, rstd per slice)
// dL/dx = rstd (ĝ - mean(ĝ) - x̂ ⊙ mean(ĝ ⊙ x̂)),  ĝ = g ⊙ w;  dL/dw = Σ g ⊙ x̂;  dL/db = Σ g
// Backward: x̂ and rstd from the saved μ and rstd, or, under create_graph, as
// ops of x (so that second derivatives flow through them).
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape, const Tensor<T>& weight, const Tensor<T>& bias,
                     double eps) {
  check_layer_norm(x, normalized_shape, weight, bias);
  const std::size_t k = normalized_shape.size();
  const std::size_t n = std::accumulate(normalized_shape.begin(), normalized_shape.end(), std::size_t{1}, std::multiplies<>());
  Shape kept = x.shape();
  std::fill(kept.end() - static_cast<std::ptrdiff_t>(k), kept.end(), 1);
  xt::xarray<T> y = new_array<T>(x.shape()), centre = new_array<T>(kept), rstd = new_array<T>(kept);
  layer_norm_rows(x.data(), weight.defined() ? weight.data() : nullptr, bias.defined() ? bias.data() : nullptr,
                  x.numel() / n, n, eps, y.data(), centre.data(), rstd.data());
  std::vector<int> axes(k);
  std::iota(axes.begin(), axes.end(), -static_cast<int>(k));
  std::vector<Tensor<T>> inputs{x};
  if (weight.defined()) inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  const bool has_weight = weight.defined(), has_bias = bias.defined();
  // The fast backward reuses the forward's mean and 1/σ; the recorded one
  // (create_graph) computes them again as ops, so that they are differentiated too.
  auto backward = [axes, eps, has_weight, has_bias, mu = Tensor<T>(std::move(centre)), rs = Tensor<T>(std::move(rstd))](
                      const auto& in, const Tensor<T>& g, bool recorded) {
                     Tensor<T> xhat, r = rs;
                     if (recorded) {
                       const Tensor<T> centred = in[0] - mean(in[0], axes, true);
                       r = rsqrt(mean(centred * centred, axes, true) + static_cast<T>(eps));
                       xhat = centred * r;
                     } else {
                       xhat = (in[0] - mu) * r;
                     }
                     const Tensor<T> gh = has_weight ? g * in[1] : g;
                     Grads<T> grads{detail::if_needed(in, 0, [&] {
                       return r * (gh - mean(gh, axes, true) - xhat * mean(gh * xhat, axes, true));
                     })};
                     if (has_weight) grads.push_back(detail::if_needed(in, 1, [&] { return sum_to(g * xhat, in[1].shape()); }));
                     if (has_bias) grads.push_back(detail::if_needed(in, in.size() - 1, [&] { return sum_to(g, in.back().shape()); }));
                     return grads;
                   };
  return record<T>(
      "layer_norm", std::move(y), std::move(inputs),
      [backward](const auto& in, const auto&, const Tensor<T>& g) { return backward(in, g, false); },
      [backward](const auto& in, const auto&, const Tensor<T>& g) { return backward(in, g, true); });
}

#define REWIND_INSTANTIATE(T) \
  template Tensor<T> layer_norm<T>(const Tensor<T>&, const Shape&, const Tensor<T>&, const Tensor<T>&, double);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
