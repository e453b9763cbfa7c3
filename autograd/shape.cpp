#include <algorithm>
#include <numeric>

#include <xtensor/xmanipulation.hpp>
#include <xtensor/xtensor.hpp>

#include "op_support.hpp"
#include "instantiate.hpp"

namespace rwd {

using detail::evaluate;

std::size_t normalize_axis(const char* op, int axis, std::size_t rank) {
  const int r = static_cast<int>(rank);
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw Error(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for a tensor of rank " +
                std::to_string(rank));
  return static_cast<std::size_t>(a);
}

namespace {

// Slicing, concatenation and indexing along one axis all move "rows": seen
// row-major as [outer, length, inner] around `axis`, rows [r, r + count) of
// each outer block are one contiguous run of count * inner elements. The ops
// below copy (or add) such runs directly. (xtensor 0.24.3's strided_view is
// not used for writing: `strided_view(...) = array` silently writes nothing and
// `strided_view(...) += strided_view(...)` throws bad_alloc.)
struct Rows {
  std::size_t outer = 1, inner = 1;
};

Rows rows_around(const Shape& shape, std::size_t axis) {
  Rows r;
  for (std::size_t d = 0; d < axis; ++d) r.outer *= shape[d];
  for (std::size_t d = axis + 1; d < shape.size(); ++d) r.inner *= shape[d];
  return r;
}

// dst rows [dst_row, dst_row + count) (+)= src rows [src_row, src_row + count) along
// `axis`; src and dst agree on every other axis.
template <class T>
void move_rows(const xt::xarray<T>& src, std::size_t src_row, xt::xarray<T>& dst, std::size_t dst_row,
               std::size_t count, std::size_t axis, bool accumulate = false) {
  const Rows r = rows_around(src.shape(), axis);
  const std::size_t src_length = src.shape()[axis], dst_length = dst.shape()[axis];
  const std::size_t run = count * r.inner;
  for (std::size_t o = 0; o < r.outer; ++o) {
    const T* from = src.data() + (o * src_length + src_row) * r.inner;
    T* to = dst.data() + (o * dst_length + dst_row) * r.inner;
    if (accumulate)
      for (std::size_t i = 0; i < run; ++i) to[i] += from[i];
    else
      std::copy(from, from + run, to);
  }
}

std::size_t product(const Shape& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::size_t{1}, std::multiplies<>());
}

}  // namespace

// y = x viewed with a new shape (same element order)      dy/dx = reshape(g, x.shape)
template <class T>
Tensor<T> reshape(const Tensor<T>& x, const Shape& shape) {
  if (product(shape) != x.numel())
    throw Error("reshape: cannot reshape " + format_shape(x.shape()) + " (" + std::to_string(x.numel()) +
                " elements) to " + format_shape(shape));
  if (x.shape() == shape) return x;
  xt::xarray<T> value = x.value();
  value.reshape(shape);
  return record<T>("reshape", std::move(value), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{reshape(g, in[0].shape())}; });
}

// y = x with axis0 and axis1 swapped                       dy/dx = transpose(g, axis0, axis1)
template <class T>
Tensor<T> transpose(const Tensor<T>& x, int axis0, int axis1) {
  const std::size_t a0 = normalize_axis("transpose", axis0, x.dim());
  const std::size_t a1 = normalize_axis("transpose", axis1, x.dim());
  std::vector<std::size_t> order(x.dim());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::swap(order[a0], order[a1]);
  return record<T>("transpose", evaluate<T>(xt::transpose(x.value(), order)), {x},
                   [axis0, axis1](const auto&, const auto&, const Tensor<T>& g) {
                     return Grads<T>{transpose(g, axis0, axis1)};
                   });
}

// Shape-only ops: reshapes.
template <class T>
Tensor<T> unsqueeze(const Tensor<T>& x, int axis) {
  Shape shape = x.shape();
  // The result has rank dim + 1, and axis is counted in it: -1 appends (PyTorch).
  const std::size_t a = normalize_axis("unsqueeze", axis, x.dim() + 1);
  shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(a), 1);
  return reshape(x, shape);
}

template <class T>
Tensor<T> squeeze(const Tensor<T>& x, int axis) {
  Shape shape = x.shape();
  const std::size_t a = normalize_axis("squeeze", axis, x.dim());
  if (shape[a] != 1)
    throw Error("squeeze: axis " + std::to_string(axis) + " of shape " + format_shape(shape) + " is not of size 1");
  shape.erase(shape.begin() + static_cast<std::ptrdiff_t>(a));
  return reshape(x, shape);
}

// y = x[start:end] along axis                              dy/dx = g placed back into zeros(x.shape)
template <class T>
Tensor<T> slice(const Tensor<T>& x, int axis, std::size_t start, std::size_t end) {
  const std::size_t a = normalize_axis("slice", axis, x.dim());
  if (start > end || end > x.shape()[a])
    throw Error("slice: range [" + std::to_string(start) + ", " + std::to_string(end) + ") is out of bounds for axis " +
                std::to_string(axis) + " of shape " + format_shape(x.shape()));
  Shape shape = x.shape();
  shape[a] = end - start;
  xt::xarray<T> value = new_array<T>(shape);
  move_rows(x.value(), start, value, 0, end - start, a);
  return record<T>("slice", std::move(value), {x},
                   [axis, start](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{pad_slice(g, axis, start, in[0].shape())};
                   });
}

// y = zeros(shape) with g at [start, start + g.size(axis)) along axis     dy/dg = slice(gy, ...)
template <class T>
Tensor<T> pad_slice(const Tensor<T>& g, int axis, std::size_t start, const Shape& shape) {
  const std::size_t a = normalize_axis("pad_slice", axis, shape.size());
  const std::size_t end = start + (g.dim() == shape.size() ? g.shape()[a] : 0);
  Shape expected = shape;
  expected[a] = end - start;
  if (g.dim() != shape.size() || g.shape() != expected || end > shape[a])
    throw Error("pad_slice: shape " + format_shape(g.shape()) + " does not fit at " + std::to_string(start) +
                " along axis " + std::to_string(axis) + " of shape " + format_shape(shape));
  xt::xarray<T> value = detail::filled_array<T>(shape, T(0));
  move_rows(g.value(), 0, value, start, end - start, a);
  return record<T>("pad_slice", std::move(value), {g}, [axis, start, end](const auto&, const auto&, const Tensor<T>& gy) {
    return Grads<T>{slice(gy, axis, start, end)};
  });
}

// y = x[..., index, ...]  (removes axis)
template <class T>
Tensor<T> select(const Tensor<T>& x, int axis, std::size_t index) {
  const std::size_t a = normalize_axis("select", axis, x.dim());
  if (index >= x.shape()[a])
    throw Error("select: index " + std::to_string(index) + " is out of bounds for axis " + std::to_string(axis) +
                " of shape " + format_shape(x.shape()));
  return squeeze(slice(x, axis, index, index + 1), axis);
}

// y_k = x[indices[k]] along axis                           dy/dx = rows of g added at indices
template <class T>
Tensor<T> index_select(const Tensor<T>& x, int axis, const std::vector<std::size_t>& indices) {
  const std::size_t a = normalize_axis("index_select", axis, x.dim());
  Shape shape = x.shape();
  for (auto i : indices)
    if (i >= shape[a])
      throw Error("index_select: index " + std::to_string(i) + " is out of bounds for axis " + std::to_string(axis) +
                  " of shape " + format_shape(shape));
  shape[a] = indices.size();
  xt::xarray<T> value = new_array<T>(shape);
  for (std::size_t k = 0; k < indices.size(); ++k) move_rows(x.value(), indices[k], value, k, 1, a);
  return record<T>("index_select", std::move(value), {x},
                   [axis, indices](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{index_add(g, axis, indices, in[0].shape())};
                   });
}

// y = zeros(shape); y[indices[k]] += g_k along axis       dy/dg = index_select(gy, axis, indices)
template <class T>
Tensor<T> index_add(const Tensor<T>& g, int axis, const std::vector<std::size_t>& indices, const Shape& shape) {
  const std::size_t a = normalize_axis("index_add", axis, shape.size());
  Shape expected = shape;
  expected[a] = indices.size();
  if (g.shape() != expected)
    throw Error("index_add: source has shape " + format_shape(g.shape()) + ", expected " + format_shape(expected));
  xt::xarray<T> value = detail::filled_array<T>(shape, T(0));
  for (std::size_t k = 0; k < indices.size(); ++k) {
    if (indices[k] >= shape[a])
      throw Error("index_add: index " + std::to_string(indices[k]) + " is out of bounds for shape " +
                  format_shape(shape));
    move_rows(g.value(), k, value, indices[k], 1, a, /*accumulate=*/true);
  }
  return record<T>("index_add", std::move(value), {g}, [axis, indices](const auto&, const auto&, const Tensor<T>& gy) {
    return Grads<T>{index_select(gy, axis, indices)};
  });
}

// y = [x_0, x_1, ...] joined along axis                   dy/dx_i = the slice of g where x_i went
template <class T>
Tensor<T> concat(const std::vector<Tensor<T>>& xs, int axis) {
  if (xs.empty()) throw Error("concat: no tensors given");
  const std::size_t a = normalize_axis("concat", axis, xs[0].dim());
  Shape shape = xs[0].shape();
  shape[a] = 0;
  std::vector<std::size_t> offsets;
  for (const auto& x : xs) {
    Shape s = x.shape();
    if (s.size() != shape.size() ||
        !std::equal(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(a), shape.begin()) ||
        !std::equal(s.begin() + static_cast<std::ptrdiff_t>(a) + 1, s.end(), shape.begin() + static_cast<std::ptrdiff_t>(a) + 1))
      throw Error("concat: shape " + format_shape(s) + " does not match " + format_shape(xs[0].shape()) +
                  " outside axis " + std::to_string(axis));
    offsets.push_back(shape[a]);
    shape[a] += s[a];
  }
  xt::xarray<T> value = new_array<T>(shape);
  for (std::size_t i = 0; i < xs.size(); ++i)
    move_rows(xs[i].value(), 0, value, offsets[i], xs[i].shape()[a], a);
  return record<T>("concat", std::move(value), xs, [axis, offsets](const auto& in, const auto&, const Tensor<T>& g) {
    Grads<T> grads;
    for (std::size_t i = 0; i < in.size(); ++i)
      grads.push_back(detail::if_needed(in, i, [&] {
        const std::size_t a = normalize_axis("concat", axis, g.dim());
        return slice(g, axis, offsets[i], offsets[i] + in[i].shape()[a]);
      }));
    return grads;
  });
}

// y = the x_i stacked along a new axis (a concat of unsqueezed tensors)
template <class T>
Tensor<T> stack(const std::vector<Tensor<T>>& xs, int axis) {
  if (xs.empty()) throw Error("stack: no tensors given");
  std::vector<Tensor<T>> expanded;
  for (const auto& x : xs) {
    if (x.shape() != xs[0].shape())
      throw Error("stack: shape " + format_shape(x.shape()) + " differs from " + format_shape(xs[0].shape()));
    expanded.push_back(unsqueeze(x, axis));
  }
  return concat(expanded, axis);
}

// consecutive slices of the given sizes along axis, one function with an
// output per slice                           dy/dx = the output gradients joined (zeros where none)
template <class T>
std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::size_t>& sizes, int axis) {
  const std::size_t a = normalize_axis("split", axis, x.dim());
  const std::size_t total = std::accumulate(sizes.begin(), sizes.end(), std::size_t{0});
  if (total != x.shape()[a])
    throw Error("split: sizes add up to " + std::to_string(total) + " but axis " + std::to_string(axis) +
                " of shape " + format_shape(x.shape()) + " has " + std::to_string(x.shape()[a]));
  std::vector<xt::xarray<T>> values;
  values.reserve(sizes.size());
  std::size_t start = 0;
  for (auto size : sizes) {
    Shape shape = x.shape();
    shape[a] = size;
    values.push_back(new_array<T>(shape));
    move_rows(x.value(), start, values.back(), 0, size, a);
    start += size;
  }
  return record_multi<T>(
      "split", std::move(values), {x},
      [a, sizes](const auto& in, const auto& grads) {
        const bool all = std::all_of(grads.begin(), grads.end(), [](const Tensor<T>& g) { return g.defined(); });
        xt::xarray<T> joined = all ? new_array<T>(in[0].shape()) : detail::filled_array<T>(in[0].shape(), T(0));
        std::size_t first = 0;
        for (std::size_t k = 0; k < sizes.size(); first += sizes[k++])
          if (grads[k].defined()) move_rows(grads[k].value(), 0, joined, first, sizes[k], a);
        return Grads<T>{Tensor<T>(std::move(joined))};
      },
      [a, sizes](const auto& in, const auto& grads) {  // recorded: the joined gradient is differentiable
        std::vector<Tensor<T>> parts;
        for (std::size_t k = 0; k < sizes.size(); ++k) {
          Shape shape = in[0].shape();
          shape[a] = sizes[k];
          parts.push_back(grads[k].defined() ? grads[k] : zeros<T>(shape));
        }
        return Grads<T>{concat(parts, static_cast<int>(a))};
      });
}

// torch.chunk: split into slices of ceil(n / chunks) along axis, the last smaller
template <class T>
std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::size_t chunks, int axis) {
  if (chunks == 0) throw Error("chunk: chunks must be greater than 0, got 0");
  const std::size_t a = normalize_axis("chunk", axis, x.dim());
  const std::size_t n = x.shape()[a], size = (n + chunks - 1) / chunks;
  if (size == 0) return split(x, std::vector<std::size_t>(chunks, 0), axis);  // an empty axis: `chunks` empty ones (torch 1.13)
  std::vector<std::size_t> sizes(n / size, size);
  if (n % size != 0) sizes.push_back(n % size);
  return split(x, sizes, axis);
}

#define REWIND_INSTANTIATE(T)                                                                                          \
  template Tensor<T> reshape<T>(const Tensor<T>&, const Shape&);                                                \
  template Tensor<T> transpose<T>(const Tensor<T>&, int, int);                                                  \
  template Tensor<T> unsqueeze<T>(const Tensor<T>&, int);                                                       \
  template Tensor<T> squeeze<T>(const Tensor<T>&, int);                                                         \
  template Tensor<T> slice<T>(const Tensor<T>&, int, std::size_t, std::size_t);                                 \
  template Tensor<T> pad_slice<T>(const Tensor<T>&, int, std::size_t, const Shape&);                            \
  template Tensor<T> select<T>(const Tensor<T>&, int, std::size_t);                                             \
  template Tensor<T> index_select<T>(const Tensor<T>&, int, const std::vector<std::size_t>&);                   \
  template Tensor<T> index_add<T>(const Tensor<T>&, int, const std::vector<std::size_t>&, const Shape&);        \
  template Tensor<T> concat<T>(const std::vector<Tensor<T>>&, int);                                             \
  template Tensor<T> stack<T>(const std::vector<Tensor<T>>&, int);                                              \
  template std::vector<Tensor<T>> split<T>(const Tensor<T>&, const std::vector<std::size_t>&, int);              \
  template std::vector<Tensor<T>> chunk<T>(const Tensor<T>&, std::size_t, int);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
