#include <algorithm>

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
  if (!keepdim) {
    Shape dropped;
    for (std::size_t axis = 0; axis < x.dim(); ++axis)
      if (!std::binary_search(reduced.begin(), reduced.end(), axis)) dropped.push_back(x.shape()[axis]);
    value.reshape(dropped);
  }
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

// y = max x                     dy/dx = g ⊙ [x = y] / #ties
template <class T>
Tensor<T> max(const Tensor<T>& x) {
  if (x.numel() == 0) throw Error("max: the tensor is empty");
  const T top = xt::amax(x.value())();
  return record<T>("max", detail::filled_array<T>({}, top), {x}, [top](const auto& in, const auto&, const Tensor<T>& g) {
    xt::xarray<T> ties = xt::cast<T>(xt::equal(in[0].value(), top));
    ties /= xt::sum(ties)();
    return Grads<T>{g * Tensor<T>(std::move(ties))};
  });
}

// y = max_axis x                dy/dx = g ⊙ [x = y] / #ties along axis
template <class T>
Tensor<T> max(const Tensor<T>& x, int axis, bool keepdim) {
  const std::size_t a = normalize_axis("max", axis, x.dim());
  if (x.shape()[a] == 0) throw Error("max: reducing over an empty axis of shape " + format_shape(x.shape()));
  const Shape kept = kept_shape(x.shape(), {a});
  xt::xarray<T> top = xt::amax(x.value(), {a});
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
  return record<T>("max", std::move(value), {x},
                   [kept, mask = Tensor<T>(std::move(ties))](const auto&, const auto&, const Tensor<T>& g) {
                     return Grads<T>{reshape(g, kept) * mask};
                   });
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
  template Tensor<T> softmax<T>(const Tensor<T>&, int);                        \
  template Tensor<T> log_softmax<T>(const Tensor<T>&, int);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
