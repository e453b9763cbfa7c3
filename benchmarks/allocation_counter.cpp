// The malloc family forwards to glibc's own entry points (__libc_malloc …) and
// adds malloc_usable_size of every block to a live count while counting is on.
// Blocks allocated before start() and freed after it make live_bytes() smaller
// than the truth, never larger; the benchmarks measure regions whose blocks are
// made and freed inside.
#ifdef REWIND_COUNT_ALLOCATIONS

#include "allocation_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* pointer, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void __libc_free(void* pointer);
}

namespace {

std::atomic<bool> counting{false};
std::atomic<std::int64_t> live{0}, peak{0}, calls{0};

void allocated(void* pointer) {
  if (pointer == nullptr || !counting.load(std::memory_order_relaxed)) return;
  calls.fetch_add(1, std::memory_order_relaxed);
  const auto now = live.fetch_add(static_cast<std::int64_t>(malloc_usable_size(pointer)), std::memory_order_relaxed) +
                   static_cast<std::int64_t>(malloc_usable_size(pointer));
  auto highest = peak.load(std::memory_order_relaxed);
  while (now > highest && !peak.compare_exchange_weak(highest, now, std::memory_order_relaxed)) {
  }
}

void freed(void* pointer) {
  if (pointer == nullptr || !counting.load(std::memory_order_relaxed)) return;
  live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(pointer)), std::memory_order_relaxed);
}

}  // namespace

extern "C" {

void* malloc(std::size_t size) noexcept {
  void* pointer = __libc_malloc(size);
  allocated(pointer);
  return pointer;
}

void* calloc(std::size_t count, std::size_t size) noexcept {
  void* pointer = __libc_calloc(count, size);
  allocated(pointer);
  return pointer;
}

void* realloc(void* old, std::size_t size) noexcept {
  freed(old);
  void* pointer = __libc_realloc(old, size);
  allocated(pointer != nullptr ? pointer : (size == 0 ? nullptr : old));
  return pointer;
}

void* memalign(std::size_t alignment, std::size_t size) noexcept {
  void* pointer = __libc_memalign(alignment, size);
  allocated(pointer);
  return pointer;
}

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept { return memalign(alignment, size); }

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* pointer = memalign(alignment, size);
  if (pointer == nullptr && size != 0) return ENOMEM;
  *out = pointer;
  return 0;
}

void free(void* pointer) noexcept {
  freed(pointer);
  __libc_free(pointer);
}

}  // extern "C"

namespace rwd::bench::allocation_counter {

void start() {
  live = 0;
  peak = 0;
  calls = 0;
  counting = true;
}
void stop() { counting = false; }
std::int64_t live_bytes() { return live.load(); }
std::int64_t peak_bytes() { return peak.load(); }
std::int64_t allocations() { return calls.load(); }

}  // namespace rwd::bench::allocation_counter

#endif
