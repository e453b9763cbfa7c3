#include "tape_memory.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <unordered_map>
#include <vector>

#include <xtensor/xstrides.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define REWIND_POISON(address, bytes) ASAN_POISON_MEMORY_REGION(address, bytes)
#define REWIND_UNPOISON(address, bytes) ASAN_UNPOISON_MEMORY_REGION(address, bytes)
#else
#define REWIND_POISON(address, bytes) ((void)(address), (void)(bytes))
#define REWIND_UNPOISON(address, bytes) ((void)(address), (void)(bytes))
#endif

namespace rwd::detail {

namespace {

// Bounds: what one thread may keep for reuse. Small arrays (a loop of ops at
// small sizes makes thousands per step) are kept in numbers; large ones only a
// few per size, since arrays made outside the ops (nn's fused steps) land here
// too without being asked for again. Beyond these, memory goes back to the
// allocator at once.
constexpr std::size_t block_granule = 16;
constexpr std::size_t block_classes = 128;  // blocks up to 2 KiB are recycled
constexpr std::size_t max_blocks_per_class = std::size_t(1) << 16;
constexpr std::size_t max_cached_array_bytes = std::size_t(64) << 20;
constexpr std::size_t large_buffer_bytes = std::size_t(64) << 10;
constexpr std::size_t max_small_buffers_per_count = 4096, max_large_buffers_per_count = 16;
constexpr std::size_t small_counts = 256;
// Input lists by capacity class: 1, 2, …, 8 (an op asks for exactly its
// arity), then 16, 32, …, 2^16 (a fused layer's step nodes). A list is made
// with its class's capacity and kept in the largest class it holds, so any
// list of a class serves any request that class covers: lookups are O(1) and
// always hit once warm. A class keeps up to 4096 lists, fewer of the large.
constexpr std::size_t exact_list_classes = 8, list_classes = exact_list_classes + 13;
constexpr std::size_t class_capacity(std::size_t c) { return c < exact_list_classes ? c + 1 : std::size_t(1) << (c - 4); }
constexpr std::size_t max_lists(std::size_t c) {
  return c < exact_list_classes ? 4096 : std::max<std::size_t>(8, (std::size_t(1) << 16) / class_capacity(c));
}
// The smallest class whose lists hold `capacity` (>= 1); list_classes or more: none.
std::size_t request_class(std::size_t capacity) {
  return capacity <= exact_list_classes ? capacity - 1 : exact_list_classes + std::bit_width(capacity - 1) - 4;
}
// The largest class whose capacity a list of `capacity` (>= 1) holds.
std::size_t recycle_class(std::size_t capacity) {
  return capacity <= exact_list_classes ? capacity - 1
                                        : std::min(list_classes - 1, exact_list_classes + std::bit_width(capacity) - 5);
}
static_assert(class_capacity(exact_list_classes) == 16 && class_capacity(list_classes - 1) == std::size_t(1) << 16);

template <class T>
using Storage = typename xt::xarray<T>::storage_type;

// The buffers of one element count. `limit` adapts to demand: it starts
// small and grows by one each time an op finds the bucket empty, so buffers of
// a size that only code outside the ops allocates (and no op asks for) stop
// piling up after a few.
template <class T>
struct Bucket {
  std::vector<Storage<T>> buffers;
  std::size_t limit = 8;
};

template <class T>
struct ArrayCache {
  std::vector<Bucket<T>> small = std::vector<Bucket<T>>(small_counts);
  std::unordered_map<std::size_t, Bucket<T>> large;

  Bucket<T>& bucket(std::size_t count) { return count < small_counts ? small[count] : large[count]; }
  // Frees every cached buffer; the buckets' limits stay as demand set them.
  void release() noexcept {
    auto empty = [](Bucket<T>& bucket) {
      for (auto& buffer : bucket.buffers) REWIND_UNPOISON(buffer.data(), buffer.size() * sizeof(T));
      bucket.buffers.clear();
    };
    for (auto& b : small) empty(b);
    for (auto& [count, b] : large) empty(b);
  }
  ~ArrayCache() { release(); }
};

struct TapeMemory {
  std::vector<void*> blocks[block_classes];
  ArrayCache<float> floats;
  ArrayCache<double> doubles;
  std::size_t array_bytes = 0;
  // The lists of one class; `limit` adapts to demand as a Bucket's does, so
  // lists that only code outside the ops makes (and no op asks for) stop
  // piling up after a few.
  template <class T>
  struct ListClass {
    std::vector<std::vector<Tensor<T>>> lists;
    std::size_t limit = 8;
  };
  template <class T>
  using ListClasses = std::array<ListClass<T>, list_classes>;
  ListClasses<float> float_lists;
  ListClasses<double> double_lists;

  template <class T>
  ListClasses<T>& input_lists() {
    if constexpr (sizeof(T) == sizeof(float))
      return float_lists;
    else
      return double_lists;
  }

  template <class T>
  ArrayCache<T>& arrays() {
    if constexpr (sizeof(T) == sizeof(float))
      return floats;
    else
      return doubles;
  }
  void release_blocks() noexcept {
    for (std::size_t c = 0; c < block_classes; ++c) {
      for (void* block : blocks[c]) {
        REWIND_UNPOISON(block, c * block_granule);
        ::operator delete(block);
      }
      blocks[c].clear();
    }
  }
  ~TapeMemory() { release_blocks(); }
};

// This thread's TapeMemory, made on first use and freed at thread exit; null
// once freed (a tensor destroyed after that, e.g. a static one, goes straight
// to the allocator). The pointer itself is trivially destructible, so reading
// it is safe during any destruction.
TapeMemory* tape_memory() {
  thread_local TapeMemory* memory = nullptr;
  thread_local bool finished = false;
  if (memory == nullptr && !finished) {
    memory = new TapeMemory();
    struct Owner {
      ~Owner() {
        delete memory;
        memory = nullptr;
        finished = true;
      }
    };
    thread_local Owner owner;  // constructed here once per thread; its destructor runs at thread exit
  }
  return memory;
}

std::size_t block_class(std::size_t bytes) { return (bytes + block_granule - 1) / block_granule; }

}  // namespace

void* allocate_node_block(std::size_t bytes) {
  const std::size_t c = block_class(bytes);
  TapeMemory* memory = c < block_classes ? tape_memory() : nullptr;
  if (memory == nullptr || memory->blocks[c].empty()) return ::operator new(c * block_granule);
  void* block = memory->blocks[c].back();
  memory->blocks[c].pop_back();
  REWIND_UNPOISON(block, c * block_granule);
  return block;
}

void free_node_block(void* block, std::size_t bytes) noexcept {
  const std::size_t c = block_class(bytes);
  TapeMemory* memory = c < block_classes ? tape_memory() : nullptr;
  if (memory == nullptr || memory->blocks[c].size() >= max_blocks_per_class) return ::operator delete(block);
  try {
    memory->blocks[c].push_back(block);
  } catch (...) {  // no memory for the free list itself: give the block back
    return ::operator delete(block);
  }
  REWIND_POISON(block, c * block_granule);
}

}  // namespace rwd::detail

namespace rwd {
template <class T>
xt::xarray<T> new_array(const Shape& shape) {
  using namespace detail;
  using Array = xt::xarray<T>;
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  TapeMemory* memory = count > 0 ? tape_memory() : nullptr;
  Storage<T> storage;  // no elements: no buffer at all
  if (count > 0) {
    if (memory == nullptr) return Array::from_shape(shape);
    Bucket<T>& bucket = memory->arrays<T>().bucket(count);
    if (bucket.buffers.empty()) {
      const std::size_t most = count * sizeof(T) < large_buffer_bytes ? max_small_buffers_per_count
                                                                       : max_large_buffers_per_count;
      bucket.limit = std::min(bucket.limit + 1, most);
      return Array::from_shape(shape);
    }
    storage = std::move(bucket.buffers.back());
    bucket.buffers.pop_back();
    memory->array_bytes -= count * sizeof(T);
    REWIND_UNPOISON(storage.data(), count * sizeof(T));
  }
  typename Array::inner_shape_type dims(shape.begin(), shape.end());
  typename Array::inner_strides_type strides(shape.size());
  xt::compute_strides(dims, xt::layout_type::row_major, strides);
  return Array(std::move(storage), std::move(dims), std::move(strides));
}
template xt::xarray<float> new_array<float>(const Shape&);
template xt::xarray<double> new_array<double>(const Shape&);

template <class T>
std::vector<Tensor<T>> new_input_list(std::size_t capacity) {
  using namespace detail;
  if (capacity == 0) return {};
  const std::size_t c = request_class(capacity);
  if (c >= list_classes) {  // larger than any class: not kept
    std::vector<Tensor<T>> list;
    list.reserve(capacity);
    return list;
  }
  if (TapeMemory* memory = tape_memory(); memory != nullptr) {
    auto& lists = memory->input_lists<T>()[c];
    if (!lists.lists.empty()) {
      std::vector<Tensor<T>> list = std::move(lists.lists.back());
      lists.lists.pop_back();
      return list;
    }
    lists.limit = std::min(lists.limit + 1, max_lists(c));
  }
  std::vector<Tensor<T>> list;
  list.reserve(class_capacity(c));
  return list;
}
template std::vector<Tensor<float>> new_input_list<float>(std::size_t);
template std::vector<Tensor<double>> new_input_list<double>(std::size_t);
}  // namespace rwd

namespace rwd::detail {

template <class T>
void recycle_array(xt::xarray<T>& array) noexcept {
  Storage<T>& storage = array.storage();
  const std::size_t count = storage.size(), bytes = count * sizeof(T);
  if (count == 0 || storage.data() == nullptr) return;
  TapeMemory* memory = tape_memory();
  if (memory == nullptr || memory->array_bytes + bytes > max_cached_array_bytes) return;
  try {
    Bucket<T>& bucket = memory->arrays<T>().bucket(count);
    if (bucket.buffers.size() >= bucket.limit) return;
    bucket.buffers.push_back(std::move(storage));
    REWIND_POISON(bucket.buffers.back().data(), bytes);
    memory->array_bytes += bytes;
  } catch (...) {  // no memory for the cache's own lists: the array frees its buffer as usual
  }
}


template <class T>
void recycle_input_list(std::vector<Tensor<T>>& list) noexcept {
  TapeMemory* memory = tape_memory();
  if (memory == nullptr || list.capacity() == 0 || !list.empty()) return;
  const std::size_t c = recycle_class(list.capacity());
  auto& lists = memory->input_lists<T>()[c];
  if (lists.lists.size() >= lists.limit) return;
  try {
    lists.lists.push_back(std::move(list));
  } catch (...) {  // no memory for the list of lists: the list frees its capacity as usual
  }
}

std::size_t cached_array_bytes() {
  TapeMemory* memory = tape_memory();
  return memory ? memory->array_bytes : 0;
}

void release_cached_memory() noexcept {
  TapeMemory* memory = tape_memory();
  if (memory == nullptr) return;
  memory->floats.release();
  memory->doubles.release();
  memory->array_bytes = 0;
  memory->release_blocks();
  for (auto& c : memory->float_lists) c.lists.clear();
  for (auto& c : memory->double_lists) c.lists.clear();
}

template void recycle_array<float>(xt::xarray<float>&) noexcept;
template void recycle_array<double>(xt::xarray<double>&) noexcept;
template void recycle_input_list<float>(std::vector<Tensor<float>>&) noexcept;
template void recycle_input_list<double>(std::vector<Tensor<double>>&) noexcept;

}  // namespace rwd::detail
