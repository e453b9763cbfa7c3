// A small fixed pool of threads that runs the indices of one job: the blocked
// products (autograd/blas.cpp) and the batch shards of optim/data_parallel.hpp.
// Internal (not installed); users set the products' thread count through
// rwd::set_num_threads (autograd/threads.hpp).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rwd::detail {

class ThreadPool {
 public:
  // `threads` in all: the caller of run() and threads - 1 workers.
  explicit ThreadPool(std::size_t threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  std::size_t size() const { return workers_.size() + 1; }
  // Runs body(i) once for every i in [0, count), on the caller and the
  // workers, and returns when all have returned; rethrows the first exception
  // (by index) a body threw. One job at a time: a caller that finds the pool
  // busy (another thread's job, or a body calling run) runs its job alone.
  void run(std::size_t count, const std::function<void(std::size_t)>& body);
  // Runs body(i) on thread i of the pool (0: the caller), count <= size(): each
  // index on the same thread every time, so per-thread state (the tape's caches,
  // the default generator) stays with its index.
  void run_each(std::size_t count, const std::function<void(std::size_t)>& body);

 private:
  void work(std::size_t worker);
  void take_indices(std::size_t worker);
  void call(std::size_t i);
  void run_job(std::size_t count, bool pinned, const std::function<void(std::size_t)>& body);

  std::vector<std::thread> workers_;
  std::mutex busy_;  // held by the caller of the running job
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t)>* body_ = nullptr;
  std::size_t count_ = 0, next_ = 0, running_ = 0;
  bool pinned_ = false, stop_ = false;
  unsigned long long generation_ = 0;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace rwd::detail
