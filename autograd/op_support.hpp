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

// The gradient for input i, computed only when that input needs one.
template <class T, class F>
Tensor<T> if_needed(const std::vector<Tensor<T>>& inputs, std::size_t i, F&& compute) {
  return inputs[i].requires_grad() ? compute() : Tensor<T>();
}

}  // namespace rwd::detail

// Explicit instantiation for the two supported scalar types.
#define REWIND_FOR_EACH_SCALAR(MACRO) MACRO(float) MACRO(double)
