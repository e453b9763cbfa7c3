#include "shard.hpp"

#include <xtensor/xslice.hpp>
#include <xtensor/xstrided_view.hpp>

#include "../autograd/engine.hpp"

namespace rwd::optim {

Shard shard_of(std::size_t batch, int index, int count, const std::string& parts) {
  if (count < 1 || index < 0 || index >= count)
    throw Error("shard_of: shard " + std::to_string(index) + " of " + std::to_string(count) + " is not a shard");
  const auto n = static_cast<std::size_t>(count);
  if (batch % n != 0)
    throw Error("a batch of " + std::to_string(batch) + " sequences cannot be split evenly over " +
                std::to_string(count) + " " + parts + " (the batch size must be a multiple of their count)");
  const std::size_t each = batch / n, r = static_cast<std::size_t>(index);
  return {r * each, (r + 1) * each};
}

template <class T>
xt::xarray<T> shard_rows(const xt::xarray<T>& values, std::size_t axis, const Shard& shard) {
  if (axis >= values.dimension() || shard.end > values.shape()[axis] || shard.begin > shard.end)
    throw Error("shard_rows: rows [" + std::to_string(shard.begin) + ", " + std::to_string(shard.end) +
                ") of axis " + std::to_string(axis) + " of an array of shape " +
                format_shape(Shape(values.shape().begin(), values.shape().end())));
  xt::xstrided_slice_vector slices(values.dimension(), xt::all());
  slices[axis] = xt::range(shard.begin, shard.end);
  return xt::strided_view(values, slices);
}

template <class T>
Tensor<T> shard_batch(const Tensor<T>& values, std::size_t axis, const Shard& shard) {
  return Tensor<T>(shard_rows(values.value(), axis, shard));
}

template xt::xarray<float> shard_rows<float>(const xt::xarray<float>&, std::size_t, const Shard&);
template xt::xarray<double> shard_rows<double>(const xt::xarray<double>&, std::size_t, const Shard&);
template Tensor<float> shard_batch<float>(const Tensor<float>&, std::size_t, const Shard&);
template Tensor<double> shard_batch<double>(const Tensor<double>&, std::size_t, const Shard&);

}  // namespace rwd::optim
