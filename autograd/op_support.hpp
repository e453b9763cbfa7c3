// Internal helpers shared by the op sources (not installed API).
#pragma once

#include <string>

#include <xtensor/xarray.hpp>
#include <xtensor/xnoalias.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "ops.hpp"
#include "tape_memory.hpp"

namespace rwd::detail {

template <class T>
Shape shape_of(const xt::xarray<T>& a) {
  return Shape(a.shape().begin(), a.shape().end());
}

// Materialises an xtensor expression into an array from the tape's cache.
template <class T, class E>
xt::xarray<T> evaluate(E&& expression) {
  xt::xarray<T> out = new_array<T>(Shape(expression.shape().begin(), expression.shape().end()));
  xt::noalias(out) = std::forward<E>(expression);
  return out;
}

// A constant tensor (never requires grad), e.g. a 0/1 mask used by a backward.
template <class T, class E>
Tensor<T> constant(E&& expression) {
  return Tensor<T>(xt::xarray<T>(std::forward<E>(expression)));
}

// y = f(x) over x's values, one plain loop over contiguous memory into an
// array from the tape's cache: no expression machinery, no allocation once warm.
template <class T, class F>
xt::xarray<T> map_values(const xt::xarray<T>& x, F f) {
  xt::xarray<T> out = new_array<T>(x.shape());
  const T* px = x.data();
  T* po = out.data();
  for (std::size_t i = 0, n = out.size(); i < n; ++i) po[i] = f(px[i]);
  return out;
}

// y = f(a, b) over two arrays of the same shape, likewise.
template <class T, class F>
xt::xarray<T> zip_values(const xt::xarray<T>& a, const xt::xarray<T>& b, F f) {
  xt::xarray<T> out = new_array<T>(a.shape());
  const T* pa = a.data();
  const T* pb = b.data();
  T* po = out.data();
  for (std::size_t i = 0, n = out.size(); i < n; ++i) po[i] = f(pa[i], pb[i]);
  return out;
}

// A fast backward's gradient g ⊙ f(y) (y the op's output, same shape as g):
// one loop of plain values (record's `fast`; its `recorded` is the same as ops).
template <class T, class F>
Tensor<T> pointwise_grad(const Tensor<T>& g, const Tensor<T>& y, F f) {
  return Tensor<T>(zip_values<T>(g.value(), y.value(), [f](T gi, T yi) { return gi * f(yi); }));
}

// f(a, b) elementwise with NumPy broadcasting. `f` is a generic lambda that
// works on scalars and on xtensor expressions: equal shapes (the common case,
// and every tiny op) take a plain loop, others xtensor's broadcasting.
template <class T, class F>
xt::xarray<T> broadcast_apply(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
  const auto& va = a.value();
  const auto& vb = b.value();
  if (va.shape() == vb.shape()) return zip_values<T>(va, vb, f);
  broadcast_shapes(op, shape_of(va), shape_of(vb));
  return xt::xarray<T>(f(va, vb));
}

// The gradient for input i, computed only when that input needs one.
template <class T, class F>
Tensor<T> if_needed(const std::vector<Tensor<T>>& inputs, std::size_t i, F&& compute) {
  return inputs[i].requires_grad() ? compute() : Tensor<T>();
}

}  // namespace rwd::detail

