#include <xtensor/xbroadcast.hpp>

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
}  // namespace

// y = x broadcast to `shape`            dy/dx = sum_to(g, x.shape)
template <class T>
Tensor<T> expand(const Tensor<T>& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  if (!broadcasts_to(x.shape(), shape))
    throw Error("expand: cannot broadcast shape " + format_shape(x.shape()) + " to " + format_shape(shape));
  return record<T>("expand", detail::evaluate<T>(xt::broadcast(x.value(), shape)), {x},
                   [](const auto& in, const auto&, const Tensor<T>& g) { return Grads<T>{sum_to(g, in[0].shape())}; });
}

// y = g summed over the axes that broadcasting added or stretched, so that
// y.shape == shape. The backward of every broadcasting op goes through here.
// (sum's backward is expand, so this is differentiable as it stands.)
template <class T>
Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape) {
  const Shape from = g.shape();
  if (from == shape) return g;
  if (!broadcasts_to(shape, from))
    throw Error("sum_to: cannot reduce shape " + format_shape(from) + " to " + format_shape(shape));
  const std::size_t lead = from.size() - shape.size();
  std::vector<int> axes;
  for (std::size_t i = 0; i < from.size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && from[i] != 1)) axes.push_back(static_cast<int>(i));
  return reshape(sum(g, axes, /*keepdim=*/true), shape);
}

#define REWIND_INSTANTIATE(T)                                           \
  template Tensor<T> expand<T>(const Tensor<T>&, const Shape&); \
  template Tensor<T> sum_to<T>(const Tensor<T>&, const Shape&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
