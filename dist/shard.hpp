// Sharding a batch: rank r of N takes rows [r·B/N, (r+1)·B/N) of the batch axis.
//
// Shards are equal, because a loss that is a mean over the batch (and over
// time, outputs, ...) averages correctly over ranks only then: the mean of N
// equal shards' means is the whole batch's mean. A batch that N does not
// divide is an error.
#pragma once

#include <cstddef>

#include <xtensor/xarray.hpp>

#include "../autograd/tensor.hpp"
#include "context.hpp"

namespace rwd::dist {

struct Shard {
  std::size_t begin = 0, end = 0;  // rows [begin, end) of the batch axis
  std::size_t size() const { return end - begin; }
};

// Rank `rank` of `ranks`' rows of a batch of `batch`; throws rwd::Error
// naming both numbers if ranks does not divide batch (or rank is out of range).
Shard shard_of(std::size_t batch, int rank, int ranks);
inline Shard shard_of(std::size_t batch, const Context& context) {
  return shard_of(batch, context.rank(), context.size());
}

// The shard's rows of `values` along `axis` (a copy); throws naming the axis
// if `values` has no such axis.
template <class T>
xt::xarray<T> shard_rows(const xt::xarray<T>& values, std::size_t axis, const Shard& shard);
// The same for a tensor's value (the result is a new leaf, not on the tape).
template <class T>
Tensor<T> shard_batch(const Tensor<T>& values, std::size_t axis, const Shard& shard);

}  // namespace rwd::dist
