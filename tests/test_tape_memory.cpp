// The tape recycles its memory (autograd/tape_memory.hpp): node blocks and
// gradient lists from per-thread free lists, array buffers from a per-thread
// cache fed only by destroyed nodes. These tests check that recycling never
// hands out memory a live tensor still uses. Under AddressSanitizer (the CI's
// second run) every cached block and buffer is poisoned, so a live tensor
// whose buffer had wrongly entered the cache would be reported at the first
// read below, not only caught by the value checks.
#include <doctest/doctest.h>

#include <set>
#include <thread>
#include <vector>

#include <rewind/rewind.hpp>

#include <rewind/autograd/tape_memory.hpp>

using namespace rwd;

namespace {
// A [1, 5] tensor holding k, k + 1, …, k + 4.
TensorD row(double k) { return TensorD({{k, k + 1, k + 2, k + 3, k + 4}}); }

// Whether t holds exactly `expected` * (0, 1, 2, 3, 4) + offset (computed here, not by the tape).
bool holds(const TensorD& t, double scale, double offset) {
  for (std::size_t i = 0; i < 5; ++i)
    if (t.data()[i] != scale * static_cast<double>(i) + offset) return false;
  return true;
}
}  // namespace

TEST_SUITE("tape memory") {
  TEST_CASE("a recycled buffer never holds the value of a live tensor") {
    const TensorD x = row(0).requires_grad_();  // 0, 1, 2, 3, 4
    std::vector<TensorD> live;
    std::set<const double*> live_buffers;
    for (int k = 0; k < 200; ++k) {
      // x * k + k: the intermediate x * k dies at once (its buffer enters the cache);
      // the sum stays alive.
      TensorD y = mul_scalar(x, double(k)) + full<double>({1, 5}, double(k));
      { const TensorD scratch = y * y; }  // dies: its buffer is cached and reused by the next op
      CHECK(live_buffers.insert(y.data()).second);  // no live tensor shares a buffer with another
      live.push_back(y);
    }
    for (int k = 0; k < 200; ++k) CHECK(holds(live[k], k, k));

    // Free every other one; new tensors of the same size take their buffers, never a live one's.
    std::set<const double*> freed;
    for (int k = 0; k < 200; k += 2) {
      freed.insert(live[k].data());
      live_buffers.erase(live[k].data());
      live[k] = TensorD();
    }
    int reused = 0;
    std::vector<TensorD> fresh;
    for (int k = 0; k < 100; ++k) {
      fresh.push_back(mul_scalar(x, -1.0));
      CHECK(live_buffers.count(fresh.back().data()) == 0);
      reused += static_cast<int>(freed.count(fresh.back().data()));
      CHECK(holds(fresh.back(), -1, 0));
    }
    CHECK(reused > 0);  // the cache was exercised, not bypassed
    for (int k = 1; k < 200; k += 2) CHECK(holds(live[k], k, k));

    // Backward: gradients stay intact while later steps reuse the freed tape's memory.
    const TensorD loss = sum(live[1] * live[3]);  // d/dx = 3·(x + 1) + 1·(3x + 3) = 6x + 6
    loss.backward();
    const TensorD grad = x.grad();
    for (int step = 0; step < 20; ++step) sum(mul_scalar(x, 2.0) * x).backward();
    CHECK(holds(grad, 6, 6));
  }

  TEST_CASE("a value moved out of a tensor is not recycled when the tensor dies") {
    TensorD t = row(1) * row(2);  // 2, 6, 12, 20, 30
    xt::xarray<double> stolen = std::move(t.mutable_value());
    t = TensorD();
    std::vector<TensorD> others;
    for (int k = 0; k < 50; ++k) others.push_back(row(k) * row(k));
    const std::vector<double> expected{2, 6, 12, 20, 30};
    for (std::size_t i = 0; i < 5; ++i) CHECK(stolen(0, i) == expected[i]);
  }

  TEST_CASE("tensors made in one thread and freed in another keep their values") {
    std::vector<TensorD> made;
    std::thread maker([&made] {
      for (int k = 0; k < 100; ++k) made.push_back(row(k) * TensorD({{1.0, 1.0, 1.0, 1.0, 1.0}}));
    });
    maker.join();
    for (int k = 0; k < 100; k += 2) made[k] = TensorD();  // into this thread's cache
    std::vector<TensorD> mine;
    for (int k = 0; k < 50; ++k) mine.push_back(row(-k) + row(0));  // -k·1 … : 2i - k
    for (int k = 1; k < 100; k += 2) CHECK(holds(made[k], 1, k));
    for (int k = 0; k < 50; ++k) CHECK(holds(mine[k], 2, -k));
  }

  TEST_CASE("a loop of identical steps stops growing the cache") {
    Generator gen(5);
    const auto w = randn<double>({8, 8}, gen, true);
    const auto x = randn<double>({4, 8}, gen);
    auto step = [&] {
      TensorD h = x;
      for (int t = 0; t < 10; ++t) h = tanh(matmul(h, w));
      sum(h * h).backward();
    };
    for (int i = 0; i < 20; ++i) step();  // buffers only non-op code makes settle at a few per size
    const std::size_t settled = detail::cached_array_bytes();
    for (int i = 0; i < 10; ++i) step();
    CHECK(detail::cached_array_bytes() == settled);
  }
}
