#include <algorithm>
#include <array>

#include "op_support.hpp"
#include "instantiate.hpp"

namespace rwd {

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      throw Error(std::string(op) + ": shapes " + format_shape(a) + " and " + format_shape(b) +
                  " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

namespace {
// Whether `from` broadcasts to exactly `to` (one direction only: expand, sum_to).
bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  const std::size_t lead = to.size() - from.size();
  for (std::size_t i = 0; i < from.size(); ++i)
    if (from[i] != 1 && from[i] != to[lead + i]) return false;
  return true;
}

// Size of axis `i` of `full` in an operand of shape `s` (aligned at the end).
std::size_t aligned_dim(const Shape& s, const Shape& full, std::size_t i) {
  const std::size_t lead = full.size() - s.size();
  return i < lead ? 1 : s[i - lead];
}
}  // namespace

namespace detail {

// Axes from the innermost out: an operand's stride on an axis is its running
// contiguous stride, or 0 where its size is 1; an axis joins the one inside it
// when every operand's stride on it is that axis's stride times its size.
StridedLoop broadcast_loop(const Shape& full, const Shape& a, const Shape& b) {
  const std::array<const Shape*, 3> shapes = {&full, &a, &b};
  StridedLoop loop;
  std::array<std::ptrdiff_t, 3> running = {1, 1, 1};
  for (std::size_t i = full.size(); i-- > 0;) {
    if (full[i] == 1) continue;
    std::array<std::ptrdiff_t, 3> s{};
    for (std::size_t k = 0; k < 3; ++k) {
      const std::size_t d = aligned_dim(*shapes[k], full, i);
      s[k] = d == 1 ? 0 : running[k];
      running[k] *= static_cast<std::ptrdiff_t>(d);
    }
    const std::size_t last = loop.size.size() - 1;
    bool joins = !loop.size.empty();
    for (std::size_t k = 0; joins && k < 3; ++k)
      joins = s[k] == loop.stride[k][last] * static_cast<std::ptrdiff_t>(loop.size[last]);
    if (joins) {
      loop.size[last] *= full[i];
      continue;
    }
    loop.size.push_back(full[i]);
    for (std::size_t k = 0; k < 3; ++k) loop.stride[k].push_back(s[k]);
  }
  if (loop.size.empty()) {  // one element
    loop.size.push_back(1);
    for (auto& st : loop.stride) st.push_back(1);
  }
  std::reverse(loop.size.begin(), loop.size.end());
  for (auto& st : loop.stride) std::reverse(st.begin(), st.end());
  return loop;
}

template <class T>
xt::xarray<T> expand_value(const xt::xarray<T>& x, const Shape& shape) {
  xt::xarray<T> out = new_array<T>(shape);
  T* po = out.data();
  const T* px = x.data();
  for_each_tile(broadcast_loop(shape, shape_of(x), shape), [&](const StridedTile& t) {
    for (std::size_t r = 0; r < t.rows; ++r) {
      T* o = po + t.at[0] + static_cast<std::ptrdiff_t>(r) * t.row[0];
      const T* from = px + t.at[1] + static_cast<std::ptrdiff_t>(r) * t.row[1];
      if (t.col[1] != 0)
        std::copy_n(from, t.cols, o);
      else
        std::fill_n(o, t.cols, *from);
    }
  });
  return out;
}

namespace {
// o[r·o_row] += Σ_j g[r·g_row + j] for r < rows, each sum in order of j; eight
// rows at a time, so that eight independent additions are in flight.
template <class T>
void sum_rows(T* o, std::ptrdiff_t o_row, const T* g, std::ptrdiff_t g_row, std::size_t rows, std::size_t cols) {
  constexpr std::size_t lanes = 8;
  std::size_t r = 0;
  for (; r + lanes <= rows; r += lanes) {
    std::array<T, lanes> acc;
    const auto base = static_cast<std::ptrdiff_t>(r);
    for (std::size_t k = 0; k < lanes; ++k) acc[k] = o[(base + static_cast<std::ptrdiff_t>(k)) * o_row];
    for (std::size_t j = 0; j < cols; ++j)
      for (std::size_t k = 0; k < lanes; ++k)
        acc[k] += g[(base + static_cast<std::ptrdiff_t>(k)) * g_row + static_cast<std::ptrdiff_t>(j)];
    for (std::size_t k = 0; k < lanes; ++k) o[(base + static_cast<std::ptrdiff_t>(k)) * o_row] = acc[k];
  }
  for (; r < rows; ++r) {
    const auto i = static_cast<std::ptrdiff_t>(r);
    T acc = o[i * o_row];
    for (std::size_t j = 0; j < cols; ++j) acc += g[i * g_row + static_cast<std::ptrdiff_t>(j)];
    o[i * o_row] = acc;
  }
}
}  // namespace

template <class T>
xt::xarray<T> sum_to_value(const xt::xarray<T>& g, const Shape& shape) {
  xt::xarray<T> out = filled_array<T>(shape, T(0));
  T* po = out.data();
  const T* pg = g.data();
  for_each_tile(broadcast_loop(shape_of(g), shape, shape_of(g)), [&](const StridedTile& t) {
    if (t.col[1] == 0) return sum_rows(po + t.at[1], t.row[1], pg + t.at[0], t.row[0], t.rows, t.cols);
    for (std::size_t r = 0; r < t.rows; ++r) {  // columns kept: a row of g added into a row of out
      T* o = po + t.at[1] + static_cast<std::ptrdiff_t>(r) * t.row[1];
      const T* from = pg + t.at[0] + static_cast<std::ptrdiff_t>(r) * t.row[0];
      for (std::size_t j = 0; j < t.cols; ++j) o[j] += from[j];
    }
  });
  return out;
}

}  // namespace detail

// y = x broadcast to `shape`            dy/dx = sum_to(g, x.shape)
template <class T>
Tensor<T> expand(const Tensor<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (!broadcasts_to(x.shape(), shape))
    throw Error("expand: cannot broadcast shape " + format_shape(x.shape()) + " to " + format_shape(shape));
  return record<T>("expand", detail::expand_value(x.value(), shape), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{sum_to(g, in[0].shape())}; });
}

// y = g summed over the axes that broadcasting added or stretched, so that
// y.shape == shape. The backward of every broadcasting op goes through here.
//                                       dy/dg = expand(gy, g.shape)
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  if (!broadcasts_to(shape, g.shape()))
    throw Error("sum_to: cannot reduce shape " + format_shape(g.shape()) + " to " + format_shape(shape));
  return record<T>("sum_to", detail::sum_to_value(g.value(), shape), {g},
                   [](const auto& in, const auto&, const Tensor<T>& gy) { return Grads<T>{expand(gy, in[0].shape())}; });
}

#define REWIND_INSTANTIATE(T)                                                                 \
  template xt::xarray<T> detail::expand_value<T>(const xt::xarray<T>&, const Shape&); \
  template xt::xarray<T> detail::sum_to_value<T>(const xt::xarray<T>&, const Shape&); \
  template Tensor<T> expand<T>(const Tensor<T>&, const Shape&);                       \
  template Tensor<T> sum_to<T>(const Tensor<T>&, const Shape&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
