// Sharding a batch over ranks: rank r of N takes rows [r·B/N, (r+1)·B/N) of
// the batch axis, the rule of optim/shard.hpp (shared with the threads of one
// process, so that N threads and N ranks take the same rows).
#pragma once

#include "../optim/shard.hpp"
#include "context.hpp"

namespace rwd::dist {

using optim::Shard;
using optim::shard_batch;
using optim::shard_of;
using optim::shard_rows;

inline Shard shard_of(std::size_t batch, const Context& context) {
  return optim::shard_of(batch, context.rank(), context.size());
}

}  // namespace rwd::dist
