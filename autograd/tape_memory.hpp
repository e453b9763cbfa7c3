// The tape's memory, recycled per thread, so that the steady state of a
// training loop does not go to malloc for every op:
//  - node blocks (a Node and its shared_ptr control block, one allocation)
//    come from free lists of one block size each;
//  - input lists (std::vector capacity) by capacity class: 1 … 8, then
//    powers of two up to 2^16 (new_input_list);
//  - array buffers freed with a node are kept in a cache keyed by element
//    count, and an op asking for an array of that many elements gets one back.
// Both work whatever allocator the program links, and both are bounded (see
// tape_memory.cpp). A buffer enters the cache only when its node is destroyed,
// so no live tensor's value is ever handed out again; under AddressSanitizer
// the cached blocks and buffers are poisoned, so a stale pointer into one is
// reported at its first use.
#pragma once

#include <algorithm>
#include <cstddef>
#include <new>
#include <vector>

#include <xtensor/xarray.hpp>

#include "engine.hpp"
#include "tensor.hpp"

namespace rwd::detail {

// new_array (engine.hpp, public) hands out the cache's buffers: a cached
// buffer of the same element count if this thread has one.

// allocate_node_block and free_node_block are declared in inline_function.hpp,
// NodeAllocator (of Nodes, Grads and GradProducts) in tensor.hpp.

// Takes the buffer of `array`, whose owner is being destroyed, into the cache
// (or frees it when the cache is full); `array` is left empty.
template <class T>
void recycle_array(xt::xarray<T>& array) noexcept;

// new_array with every element `value` (xt::zeros, from the cache).
template <class T>
xt::xarray<T> filled_array(const Shape& shape, T value) {
  xt::xarray<T> array = rwd::new_array<T>(shape);
  std::fill_n(array.data(), array.size(), value);
  return array;
}

// new_input_list (engine.hpp, public) hands out the lists this takes back
// (`list` is empty).
template <class T>
void recycle_input_list(std::vector<Tensor<T>>& list) noexcept;

// Bytes of array buffers this thread holds in its cache (for tests).
std::size_t cached_array_bytes();

// Gives everything this thread's caches hold (array buffers, node blocks,
// input lists) back to the allocator, as torch.cuda.empty_cache() does; the
// caches refill as ops run. For measuring what a tape holds with a malloc
// counter, which does not see buffers taken from a cache.
void release_cached_memory() noexcept;

}  // namespace rwd::detail
