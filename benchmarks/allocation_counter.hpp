// Counts the heap blocks allocated and the heap bytes live in this process between start() and stop(): the
// bench binary replaces malloc/calloc/realloc/posix_memalign/aligned_alloc/
// memalign/free (allocation_counter.cpp), which catches operator new and
// xtensor's aligned buffers alike. Compiled only when REWIND_COUNT_ALLOCATIONS
// is defined (not under sanitizers, which replace malloc themselves).
#pragma once

#include <cstdint>

namespace rwd::bench::allocation_counter {

void start();                // live = peak = 0, counting on
void stop();                 // counting off
std::int64_t live_bytes();   // allocated minus freed since start()
std::int64_t peak_bytes();   // the highest live_bytes() since start()
std::int64_t allocations();  // blocks allocated since start() (malloc, new, realloc, aligned)

}  // namespace rwd::bench::allocation_counter
