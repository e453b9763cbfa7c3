// The tape's memory, recycled per thread, so that the steady state of a
// training loop does not go to malloc for every op:
//  - node blocks (a Node and its shared_ptr control block, one allocation)
//    come from free lists of one block size each;
//  - input lists (std::vector capacity) likewise;
//  - array buffers freed with a node are kept in a cache keyed by element
//    count, and an op asking for an array of that many elements gets one back.
// Both work whatever allocator the program links, and both are bounded (see
// tape_memory.cpp). A buffer enters the cache only when its node is destroyed,
// so no live tensor's value is ever handed out again; under AddressSanitizer
// the cached blocks and buffers are poisoned, so a stale pointer into one is
// reported at its first use.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#include <xtensor/xarray.hpp>

#include "tensor.hpp"

namespace rwd::detail {

// allocate_node_block, free_node_block and NodeAllocator, the allocator of
// Nodes and of Grads, are declared in tensor.hpp.

// A row-major array of `shape` whose values are unspecified (as from_shape's):
// a cached buffer of the same element count if this thread has one.
template <class T>
xt::xarray<T> new_array(const Shape& shape);

// Takes the buffer of `array`, whose owner is being destroyed, into the cache
// (or frees it when the cache is full); `array` is left empty.
template <class T>
void recycle_array(xt::xarray<T>& array) noexcept;

// An empty list of inputs for a recorded op, with the capacity of a list an
// earlier node of this thread left behind; and that return (`list` is empty).
template <class T>
std::vector<Tensor<T>> new_input_list();
template <class T>
void recycle_input_list(std::vector<Tensor<T>>& list) noexcept;

// Bytes of array buffers this thread holds in its cache (for tests).
std::size_t cached_array_bytes();

}  // namespace rwd::detail
