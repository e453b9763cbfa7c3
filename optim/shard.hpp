// Sharding a batch for data-parallel training: shard r of N takes rows
// [r·B/N, (r+1)·B/N) of the batch axis. The rule of both data-parallel modes:
// threads in one process (optim/data_parallel.hpp) and processes under MPI
// (rewind::dist, which re-exports these).
//
// Shards are equal, because a loss that is a mean over the batch (and over
// time, outputs, ...) averages correctly over shards only then: the mean of N
// equal shards' means is the whole batch's mean. A batch that N does not
// divide is an error.
#pragma once

#include <cstddef>
#include <string>

#include <xtensor/xarray.hpp>

#include "../autograd/tensor.hpp"

namespace rwd::optim {

struct Shard {
  std::size_t begin = 0, end = 0;  // rows [begin, end) of the batch axis
  std::size_t size() const { return end - begin; }
};

// Shard `index` of `count`'s rows of a batch of `batch`; throws rwd::Error
// naming both numbers and `parts` (what the shards go to: "processes",
// "threads") if count does not divide batch (or index is out of range).
Shard shard_of(std::size_t batch, int index, int count, const std::string& parts = "processes");

// The shard's rows of `values` along `axis` (a copy); throws naming the axis
// if `values` has no such axis.
template <class T>
xt::xarray<T> shard_rows(const xt::xarray<T>& values, std::size_t axis, const Shard& shard);
// The same for a tensor's value (the result is a new leaf, not on the tape).
template <class T>
Tensor<T> shard_batch(const Tensor<T>& values, std::size_t axis, const Shard& shard);

}  // namespace rwd::optim
