// The threads of one process's large products (PyTorch's torch.set_num_threads).
//
// A product of at least 2^22 multiply-adds and 256 rows (a layer's input projection
// over all T·B rows, its weight gradients) is split into blocks of the output,
// each computed whole (every sum over K in one order) by one kernel; the
// blocks run on these threads. The blocks depend on the shapes only, so the
// results are bitwise the same on any number of threads. The per-step products
// of a recurrent layer are too small to split and run on the calling thread.
#pragma once

#include <cstddef>

namespace rwd {

// Threads for the large products, the caller included (default 1; 0 is
// taken as 1). Call it between training steps, not while products run.
void set_num_threads(std::size_t threads);
std::size_t get_num_threads();

}  // namespace rwd
