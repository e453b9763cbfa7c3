#include <algorithm>
#include <numeric>

#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "op_support.hpp"
#include "instantiate.hpp"

namespace rwd {

using detail::constant;
using detail::evaluate;

namespace {

// Reductions are written `xt::xarray<T> r = xt::sum(a, axes);`: the lazy
// reducer is evaluated into a container at once, while `a` and `axes` are
// alive. xtensor 0.24.3's evaluation_strategy::immediate is broken (bad_alloc
// or a crash for plain cases, xtensor issue #1955), so it is not used.

// Sorted, de-duplicated, non-negative axes.
std::vector<std::size_t> normalize_axes(const char* op, const std::vector<int>& axes, std::size_t rank) {
  std::vector<std::size_t> out;
  for (int axis : axes) out.push_back(normalize_axis(op, axis, rank));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The input shape with each reduced axis set to 1.
Shape kept_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
  Shape kept = shape;
  for (auto axis : axes) kept[axis] = 1;
  return kept;
}

// The input shape without the reduced axes.
Shape dropped_shape(const Shape& shape, const std::vector<std::size_t>& axes) {
  Shape dropped;
  for (std::size_t axis = 0; axis < shape.size(); ++axis)
    if (!std::binary_search(axes.begin(), axes.end(), axis)) dropped.push_back(shape[axis]);
  return dropped;
}

}  // namespace

// y = Σ x                       dy/dx = g broadcast to x.shape
template <class T>
Tensor<T> sum(const Tensor<T>& x) {
  return record<T>("sum", detail::filled_array<T>({}, xt::sum(x.value())()), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{expand(g, in[0].shape())}; });
}

// y = Σ_axes x                  dy/dx = g (with the reduced axes restored as 1) broadcast to x.shape
template <class T>
Tensor<T> sum(const Tensor<T>& x, const std::vector<int>& axes, bool keepdim) {
  const auto reduced = normalize_axes("sum", axes, x.dim());
  const Shape kept = kept_shape(x.shape(), reduced);
  xt::xarray<T> value = detail::sum_to_value(x.value(), kept);  // the strided loop sum_to uses
  if (!keepdim) value.reshape(dropped_shape(x.shape(), reduced));
  return record<T>("sum", std::move(value), {x}, [kept](const auto& in, const auto&, const Tensor<T>& g) {
    return Grads<T>{expand(reshape(g, kept), in[0].shape())};
  });
}

// y = Σ x / n                   (a sum, scaled)
template <class T>
Tensor<T> mean(const Tensor<T>& x) {
  if (x.numel() == 0) throw Error("mean: the tensor is empty");
  return sum(x) * (T(1) / static_cast<T>(x.numel()));
}

template <class T>
Tensor<T> mean(const Tensor<T>& x, const std::vector<int>& axes, bool keepdim) {
  std::size_t count = 1;
  for (auto axis : normalize_axes("mean", axes, x.dim())) count *= x.shape()[axis];
  if (count == 0) throw Error("mean: reducing over an empty axis of shape " + format_shape(x.shape()));
  return sum(x, axes, keepdim) * (T(1) / static_cast<T>(count));
}

namespace {

// y = max x (or min x)            dy/dx = g ⊙ [x = y] / #ties
template <class T>
Tensor<T> extreme(const char* op, const Tensor<T>& x, bool largest) {
  if (x.numel() == 0) throw Error(std::string(op) + ": the tensor is empty");
  const T top = largest ? xt::amax(x.value())() : xt::amin(x.value())();
  return record<T>(op, detail::filled_array<T>({}, top), {x}, [top](const auto& in, const auto&, const Tensor<T>& g) {
    xt::xarray<T> ties = xt::cast<T>(xt::equal(in[0].value(), top));
    ties /= xt::sum(ties)();
    return Grads<T>{g * Tensor<T>(std::move(ties))};
  });
}

// y = max_axis x (or min)         dy/dx = g ⊙ [x = y] / #ties along axis
template <class T>
Tensor<T> extreme(const char* op, const Tensor<T>& x, int axis, bool keepdim, bool largest) {
  const std::size_t a = normalize_axis(op, axis, x.dim());
  if (x.shape()[a] == 0)
    throw Error(std::string(op) + ": reducing over an empty axis of shape " + format_shape(x.shape()));
  const Shape kept = kept_shape(x.shape(), {a});
  xt::xarray<T> top;
  if (largest)
    top = xt::amax(x.value(), {a});
  else
    top = xt::amin(x.value(), {a});
  top.reshape(kept);
  xt::xarray<T> ties = xt::cast<T>(xt::equal(x.value(), top));  // top broadcasts along axis
  xt::xarray<T> count = xt::sum(ties, {a});
  count.reshape(kept);
  ties /= count;
  xt::xarray<T> value = std::move(top);
  if (!keepdim) {
    Shape dropped = x.shape();
    dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(a));
    value.reshape(dropped);
  }
  return record<T>(op, std::move(value), {x},
                   [kept, mask = Tensor<T>(std::move(ties))](const auto&, const auto&, const Tensor<T>& g) {
                     return Grads<T>{reshape(g, kept) * mask};
                   });
}

}  // namespace

template <class T>
Tensor<T> max(const Tensor<T>& x) {
  return extreme("max", x, true);
}
template <class T>
Tensor<T> max(const Tensor<T>& x, int axis, bool keepdim) {
  return extreme("max", x, axis, keepdim, true);
}
template <class T>
Tensor<T> min(const Tensor<T>& x) {
  return extreme("min", x, false);
}
template <class T>
Tensor<T> min(const Tensor<T>& x, int axis, bool keepdim) {
  return extreme("min", x, axis, keepdim, false);
}

// y = Σ_axes (x - x̄)² / d,  d = max(N - correction, 0)         dy/dx = g ⊙ 2 (x - x̄) / d
// (N the number of elements reduced; d = 0 gives inf or nan, as in PyTorch)
template <class T>
Tensor<T> var(const Tensor<T>& x, const std::vector<int>& axes, Correction correction, bool keepdim) {
  const auto reduced = normalize_axes("var", axes, x.dim());
  const Shape kept = kept_shape(x.shape(), reduced);
  std::size_t count = 1;
  for (auto axis : reduced) count *= x.shape()[axis];
  const T divisor = static_cast<T>(std::max(0.0, static_cast<double>(count) - correction.value));
  xt::xarray<T> centre = detail::sum_to_value(x.value(), kept);  // x̄
  centre *= T(1) / static_cast<T>(count);
  xt::xarray<T> squares =
      detail::broadcast_apply("var", x, Tensor<T>(std::move(centre)), [](T v, T m) { return (v - m) * (v - m); });
  xt::xarray<T> value = detail::sum_to_value(squares, kept);
  value /= divisor;
  if (!keepdim) value.reshape(dropped_shape(x.shape(), reduced));
  return record<T>("var", std::move(value), {x}, [axes, kept, divisor](const auto& in, const auto&, const Tensor<T>& g) {
    return Grads<T>{reshape(g, kept) * (in[0] - mean(in[0], axes, true)) * (T(2) / divisor)};
  });
}

template <class T>
Tensor<T> detail::var_all(const Tensor<T>& x, Correction correction) {
  std::vector<int> axes(x.dim());
  std::iota(axes.begin(), axes.end(), 0);
  return var(x, axes, correction, false);
}

template <class T>
Tensor<T> std(const Tensor<T>& x, const std::vector<int>& axes, Correction correction, bool keepdim) {
  return sqrt(var(x, axes, correction, keepdim));
}

// y = e^(x - m) / Σ_axis e^(x - m)   (m = max along axis, for stability)
// dy/dx = y ⊙ (g - Σ_axis g ⊙ y)
template <class T>
Tensor<T> softmax(const Tensor<T>& x, int axis) {
  const std::size_t a = normalize_axis("softmax", axis, x.dim());
  const Shape kept = kept_shape(x.shape(), {a});
  xt::xarray<T> top = xt::amax(x.value(), {a});
  top.reshape(kept);
  xt::xarray<T> e = xt::exp(x.value() - top);
  xt::xarray<T> total = xt::sum(e, {a});
  total.reshape(kept);
  e /= total;
  const int ax = static_cast<int>(a);
  return record<T>("softmax", std::move(e), {x}, [ax](const auto&, const Tensor<T>& y, const Tensor<T>& g) {
    return Grads<T>{y * (g - sum(g * y, {ax}, true))};
  });
}

// y = x - m - ln Σ_axis e^(x - m)
// dy/dx = g - e^y ⊙ Σ_axis g
template <class T>
Tensor<T> log_softmax(const Tensor<T>& x, int axis) {
  const std::size_t a = normalize_axis("log_softmax", axis, x.dim());
  const Shape kept = kept_shape(x.shape(), {a});
  xt::xarray<T> top = xt::amax(x.value(), {a});
  top.reshape(kept);
  xt::xarray<T> shifted = x.value() - top;
  xt::xarray<T> log_total = xt::log(xt::sum(xt::exp(shifted), {a}));
  log_total.reshape(kept);
  shifted -= log_total;
  const int ax = static_cast<int>(a);
  return record<T>("log_softmax", std::move(shifted), {x},
                   [ax](const auto&, const Tensor<T>& y, const Tensor<T>& g) {
                     return Grads<T>{g - exp(y) * sum(g, {ax}, true)};
                   });
}

#define REWIND_INSTANTIATE(T)                                                         \
  template Tensor<T> sum<T>(const Tensor<T>&);                                 \
  template Tensor<T> sum<T>(const Tensor<T>&, const std::vector<int>&, bool);  \
  template Tensor<T> mean<T>(const Tensor<T>&);                                \
  template Tensor<T> mean<T>(const Tensor<T>&, const std::vector<int>&, bool); \
  template Tensor<T> max<T>(const Tensor<T>&);                                 \
  template Tensor<T> max<T>(const Tensor<T>&, int, bool);                      \
  template Tensor<T> min<T>(const Tensor<T>&);                                 \
  template Tensor<T> min<T>(const Tensor<T>&, int, bool);                      \
  template Tensor<T> var<T>(const Tensor<T>&, const std::vector<int>&, Correction, bool); \
  template Tensor<T> std<T>(const Tensor<T>&, const std::vector<int>&, Correction, bool); \
  template Tensor<T> detail::var_all<T>(const Tensor<T>&, Correction);        \
  template Tensor<T> softmax<T>(const Tensor<T>&, int);                        \
  template Tensor<T> log_softmax<T>(const Tensor<T>&, int);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
