// Internal helpers shared by the op sources (not installed API).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
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

// ---- broadcasting as strided loops -----------------------------------------
// Every broadcast (a binary op, expand, sum_to) walks one index space: the
// full shape, with size-1 axes dropped and adjacent axes merged wherever every
// operand steps through them as through one axis; per axis, each operand's
// element stride, 0 where it is broadcast. Operand 0 is the full, contiguous
// array (the result, or sum_to's input). After collapsing, the innermost axis
// has stride 0 or 1 in every operand, so it is a plain (vectorisable) loop.
struct StridedLoop {
  Shape size;                                              // outermost first; {1} when there is one element
  std::array<xt::svector<std::ptrdiff_t, 4>, 3> stride;    // [operand][axis]
};
// The loop over `full` for operands of shapes a and b (b = full when there are
// two operands); each must broadcast to `full` (the callers check).
StridedLoop broadcast_loop(const Shape& full, const Shape& a, const Shape& b);

// A rows × cols block of the innermost two axes: operand k's first element at
// offset at[k], rows `row[k]` apart, columns `col[k]` (0 or 1) apart.
struct StridedTile {
  std::size_t rows, cols;
  std::array<std::ptrdiff_t, 3> at, row, col;
};

// Calls tile(t) for every tile in row-major order (an odometer over the outer axes).
template <class F>
void for_each_tile(const StridedLoop& loop, F tile) {
  const std::size_t rank = loop.size.size(), outer = rank - std::min<std::size_t>(rank, 2);
  for (auto n : loop.size)
    if (n == 0) return;
  StridedTile t{rank >= 2 ? loop.size[rank - 2] : 1, loop.size[rank - 1], {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
  for (std::size_t k = 0; k < 3; ++k) {
    t.row[k] = rank >= 2 ? loop.stride[k][rank - 2] : 0;
    t.col[k] = loop.stride[k][rank - 1];
  }
  Shape counter(outer, 0);
  for (;;) {
    tile(t);
    std::size_t d = outer;
    for (; d > 0; --d) {  // the next outer index; carries reset the axes they pass
      for (std::size_t k = 0; k < 3; ++k) t.at[k] += loop.stride[k][d - 1];
      if (++counter[d - 1] < loop.size[d - 1]) break;
      for (std::size_t k = 0; k < 3; ++k)
        t.at[k] -= loop.stride[k][d - 1] * static_cast<std::ptrdiff_t>(loop.size[d - 1]);
      counter[d - 1] = 0;
    }
    if (d == 0) return;
  }
}

// o[j] = f(x[j], y[j]) for j < n, where x or y may stay on one element
// (x_steps/y_steps false): loops the compiler vectorises.
template <class T, class F>
void zip_run(T* o, const T* x, bool x_steps, const T* y, bool y_steps, std::size_t n, F f) {
  const T xv = *x, yv = *y;  // n ≥ 1
  if (x_steps && y_steps)
    for (std::size_t j = 0; j < n; ++j) o[j] = f(x[j], y[j]);
  else if (y_steps)
    for (std::size_t j = 0; j < n; ++j) o[j] = f(xv, y[j]);
  else if (x_steps)
    for (std::size_t j = 0; j < n; ++j) o[j] = f(x[j], yv);
  else
    std::fill_n(o, n, f(xv, yv));
}

// f(a, b) elementwise with NumPy broadcasting, f a function of two scalars.
// Equal shapes take one plain loop; every other pattern (a scalar, a row, a
// column, a middle axis, both sides broadcast) the strided loop above. Each
// element is f of the same two values either way, so results are exact.
template <class T, class F>
xt::xarray<T> broadcast_apply(const char* op, const Tensor<T>& a, const Tensor<T>& b, F f) {
  const auto& va = a.value();
  const auto& vb = b.value();
  if (va.shape() == vb.shape()) return zip_values<T>(va, vb, f);
  const Shape shape = broadcast_shapes(op, shape_of(va), shape_of(vb));
  xt::xarray<T> out = new_array<T>(shape);
  T* po = out.data();
  const T* pa = va.data();
  const T* pb = vb.data();
  for_each_tile(broadcast_loop(shape, shape_of(va), shape_of(vb)), [&](const StridedTile& t) {
    for (std::size_t r = 0; r < t.rows; ++r) {
      const auto i = static_cast<std::ptrdiff_t>(r);
      zip_run(po + t.at[0] + i * t.row[0], pa + t.at[1] + i * t.row[1], t.col[1] != 0, pb + t.at[2] + i * t.row[2],
              t.col[2] != 0, t.cols, f);
    }
  });
  return out;
}

// The values of expand and sum_to (broadcast.cpp), through the same loop:
// x repeated to `shape`; g summed to `shape`, each element's terms added in
// row-major order of g, as a plain loop over g would.
template <class T>
xt::xarray<T> expand_value(const xt::xarray<T>& x, const Shape& shape);
template <class T>
xt::xarray<T> sum_to_value(const xt::xarray<T>& g, const Shape& shape);

// The gradient for input i, computed only when that input needs one.
template <class T, class F>
Tensor<T> if_needed(const std::vector<Tensor<T>>& inputs, std::size_t i, F&& compute) {
  return inputs[i].requires_grad() ? compute() : Tensor<T>();
}

}  // namespace rwd::detail

