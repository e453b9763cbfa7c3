// Workers sleep on a condition variable between jobs; a job's indices are
// handed out under the mutex (one per take: the bodies are large, whole
// output blocks or a shard's forward and backward).
#include "thread_pool.hpp"

#include <stdexcept>
#include <string>

namespace rwd::detail {

namespace {
thread_local bool inside_a_job = false;
}

ThreadPool::ThreadPool(std::size_t threads) {
  for (std::size_t w = 1; w < threads; ++w) workers_.emplace_back([this, w] { work(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run(std::size_t count, const std::function<void(std::size_t)>& body) {
  run_job(count, false, body);
}

void ThreadPool::run_each(std::size_t count, const std::function<void(std::size_t)>& body) {
  if (count > size())
    throw std::invalid_argument("ThreadPool::run_each: " + std::to_string(count) + " indices for " +
                                std::to_string(size()) + " threads");
  run_job(count, true, body);
}

void ThreadPool::run_job(std::size_t count, bool pinned, const std::function<void(std::size_t)>& body) {
  std::unique_lock busy(busy_, std::defer_lock);
  if (count <= 1 || workers_.empty() || inside_a_job || !busy.try_lock()) {
    for (std::size_t i = 0; i < count; ++i) body(i);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    body_ = &body, count_ = count, next_ = 0, pinned_ = pinned, running_ = workers_.size();
    errors_.assign(count, nullptr);
    ++generation_;
  }
  wake_.notify_all();
  take_indices(0);
  std::unique_lock lock(mutex_);
  done_.wait(lock, [this] { return running_ == 0; });
  body_ = nullptr;
  for (const auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

void ThreadPool::call(std::size_t i) {
  try {
    (*body_)(i);
  } catch (...) {
    errors_[i] = std::current_exception();  // each index has its own slot
  }
}

// body_, count_ and pinned_ were set under the mutex before this job's wake-up.
void ThreadPool::take_indices(std::size_t worker) {
  inside_a_job = true;
  if (pinned_) {
    if (worker < count_) call(worker);
  } else {
    while (true) {
      std::size_t i = 0;
      {
        std::lock_guard lock(mutex_);
        if (next_ >= count_) break;
        i = next_++;
      }
      call(i);
    }
  }
  inside_a_job = false;
}

void ThreadPool::work(std::size_t worker) {
  unsigned long long seen = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    take_indices(worker);
    lock.lock();
    if (--running_ == 0) done_.notify_one();
  }
}

}  // namespace rwd::detail
