// Internal helpers shared by the op sources (not installed API).
#pragma once

#include <string>

#include <xtensor/xarray.hpp>

#include "ops.hpp"

namespace rwd::detail {

template <class T>
Shape shape_of(const xt::xarray<T>& a) {
  return Shape(a.shape().begin(), a.shape().end());
}

// Materialises an xtensor expression into a fresh array.
template <class T, class E>
xt::xarray<T> evaluate(E&& expression) {
  return xt::xarray<T>(std::forward<E>(expression));
}

// A constant tensor (never requires grad), e.g. a 0/1 mask used by a backward.
template <class T, class E>
Tensor<T> constant(E&& expression) {
  return Tensor<T>(xt::xarray<T>(std::forward<E>(expression)));
}

// f(a, b) elementwise with NumPy broadcasting. `f` is a generic lambda that
// works on scalars and on xtensor expressions: equal shapes (the common case,
// and every tiny op) take a plain loop, others xtensor's broadcasting.
template <class T, class F>
xt::xarray<T> broadcast_apply(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
  const auto& va = a.value();
  const auto& vb = b.value();
  if (va.shape() == vb.shape()) {
    xt::xarray<T> out = xt::xarray<T>::from_shape(va.shape());
    const T* pa = va.data();
    const T* pb = vb.data();
    T* po = out.data();
    for (std::size_t i = 0, n = out.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
    return out;
  }
  broadcast_shapes(op, shape_of(va), shape_of(vb));
  return xt::xarray<T>(f(va, vb));
}

// The gradient for input i, computed only when that input needs one.
template <class T, class F>
Tensor<T> if_needed(const std::vector<Tensor<T>>& inputs, std::size_t i, F&& compute) {
  return inputs[i].requires_grad() ? compute() : Tensor<T>();
}

}  // namespace rwd::detail

// Explicit instantiation for the two supported scalar types.
#define REWIND_FOR_EACH_SCALAR(MACRO) MACRO(float) MACRO(double)
