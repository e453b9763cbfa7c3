// The tape recycles its memory (autograd/tape_memory.hpp): node blocks and
// gradient lists from per-thread free lists, array buffers from a per-thread
// cache fed only by destroyed nodes. These tests check that recycling never
// hands out memory a live tensor still uses. Under AddressSanitizer (the CI's
// second run) every cached block and buffer is poisoned, so a live tensor
// whose buffer had wrongly entered the cache would be reported at the first
// read below, not only caught by the value checks.
#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <rewind/rewind.hpp>

#include <rewind/autograd/inline_function.hpp>
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

  TEST_CASE("release_cached_memory empties the cache, and ops refill it") {
    Generator gen(6);
    auto w = randn<double>({8, 8}, gen, true);
    const auto x = randn<double>({4, 8}, gen);
    auto gradient = [&] {
      w.zero_grad();
      sum(tanh(matmul(x, w))).backward();
      return xt::xarray<double>(w.grad().value());
    };
    const xt::xarray<double> before = gradient();
    REQUIRE(detail::cached_array_bytes() > 0);
    detail::release_cached_memory();
    CHECK(detail::cached_array_bytes() == 0);
    CHECK(gradient() == before);  // on fresh buffers
    CHECK(detail::cached_array_bytes() > 0);
  }
}

namespace {
// Counts its live copies, so a test sees every construction matched by one destruction.
struct Counted {
  static inline int live = 0;
  int value;
  explicit Counted(int v) : value(v) { ++live; }
  Counted(const Counted& o) : value(o.value) { ++live; }
  Counted(Counted&& o) noexcept : value(o.value) { ++live; }
  ~Counted() { --live; }
};
using SmallFunction = detail::InlineFunction<int(int), 48>;
}  // namespace

TEST_SUITE("inline function") {
  TEST_CASE("a small closure is stored in place, a large one in a node block, and both run") {
    Counted::live = 0;
    {
      Counted small(3);
      SmallFunction f = [small](int x) { return x + small.value; };  // 4 bytes: in place
      std::array<double, 16> big{};                                  // 128 bytes: a pooled block
      big[15] = 7;
      SmallFunction g = [big, small](int x) { return x * static_cast<int>(big[15]) + small.value; };
      CHECK(f(1) == 4);
      CHECK(g(2) == 17);
      CHECK(Counted::live == 3);  // `small` and one copy in each closure
    }
    CHECK(Counted::live == 0);
  }

  TEST_CASE("moving hands the callable over once; reset and nullptr destroy it") {
    Counted::live = 0;
    std::array<double, 16> big{};
    SmallFunction f = [c = Counted(5)](int x) { return x * c.value; };
    SmallFunction g = [big, c = Counted(2)](int x) { return x * c.value + static_cast<int>(big[0]); };
    CHECK(Counted::live == 2);
    SmallFunction moved = std::move(f);
    CHECK(!f);  // NOLINT(bugprone-use-after-move): moved-from is empty, as specified
    CHECK(moved(3) == 15);
    SmallFunction moved_big = std::move(g);
    CHECK(!g);  // NOLINT(bugprone-use-after-move)
    CHECK(moved_big(3) == 6);
    CHECK(Counted::live == 2);
    moved = std::move(moved_big);  // the old callable is destroyed, the big one moves in
    CHECK(Counted::live == 1);
    CHECK(moved(4) == 8);
    moved = nullptr;
    CHECK(Counted::live == 0);
    CHECK(!moved);
    CHECK_THROWS_AS(moved(1), std::bad_function_call);
  }

  TEST_CASE("a closure may own move-only state") {
    auto owned = std::make_unique<int>(11);
    SmallFunction f = [p = std::move(owned)](int x) { return x + *p; };
    SmallFunction g = std::move(f);
    CHECK(g(1) == 12);
  }

  TEST_CASE("a closure that throws while being copied in leaves nothing behind") {
    struct ThrowsOnCopy {
      std::array<double, 16> padding{};  // pooled, so the block must be given back
      ThrowsOnCopy() = default;
      ThrowsOnCopy(const ThrowsOnCopy&) { throw std::runtime_error("copy"); }
      int operator()(int x) const { return x + static_cast<int>(padding[0]); }
    };
    const ThrowsOnCopy callable;
    CHECK_THROWS_AS(SmallFunction{callable}, std::runtime_error);  // ASan's leak check sees a lost block
  }
}

TEST_SUITE("tape memory") {
  TEST_CASE("zeros, ones and full from recycled buffers hold their own values, not the previous owner's") {
    for (int round = 0; round < 3; ++round) {
      { const TensorD garbage = row(100) * row(7); }  // dies: a 5-element buffer full of non-zeros is cached
      CHECK(holds(zeros<double>({1, 5}), 0, 0));
      { const TensorD garbage = row(100) * row(7); }
      CHECK(holds(ones<double>({1, 5}), 0, 1));
      { const TensorD garbage = row(100) * row(7); }
      CHECK(holds(full<double>({1, 5}, -2.5), 0, -2.5));
    }
  }

  TEST_CASE("an input list has the capacity asked for and starts empty") {
    for (std::size_t capacity : {1u, 3u, 40u, 2u}) {
      std::vector<TensorD> list = new_input_list<double>(capacity);
      CHECK(list.empty());
      CHECK(list.capacity() >= capacity);
      list.push_back(row(1));
    }
  }
}
