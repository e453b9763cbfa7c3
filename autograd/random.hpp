// Seedable random tensors: the same seed gives the same numbers.
#pragma once

#include <cstdint>
#include <random>

#include "tensor.hpp"

namespace rwd {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : engine_(seed) {}
  void seed(std::uint64_t seed) { engine_.seed(seed); }
  std::mt19937_64& engine() { return engine_; }
  // The next number in [0, 1): drawn from 53 (or 24) raw bits, so it is the
  // same on every standard library, unlike std::uniform_real_distribution.
  double next_unit();
  double next_normal();  // Box–Muller on next_unit(), library-independent too

 private:
  std::mt19937_64 engine_;
};

// The generator used when none is passed: one per thread (seeded 0 at the
// thread's first use), so threads that each build and train their own model
// draw the same numbers as they would alone. manual_seed reseeds the calling
// thread's. (PyTorch has one locked process-wide generator; per thread gives
// each thread reproducible numbers without a lock.)
Generator& default_generator();
void manual_seed(std::uint64_t seed);

template <class T>
Tensor<T> randn(const Shape& shape, Generator& gen = default_generator(), bool requires_grad = false);  // N(0, 1)
template <class T>
Tensor<T> rand(const Shape& shape, Generator& gen = default_generator(), bool requires_grad = false);   // U[0, 1)
template <class T>
Tensor<T> uniform(const Shape& shape, T low, T high, Generator& gen = default_generator(),
                  bool requires_grad = false);                                                           // U[low, high)

}  // namespace rwd
