#include "random.hpp"
#include "instantiate.hpp"
#include "tape_memory.hpp"

#include <cmath>
#include <numbers>

namespace rwd {

double Generator::next_unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Generator::next_normal() {
  // Box–Muller: two uniforms give one standard normal (the second is dropped
  // so that a draw's value never depends on the previous call).
  const double u1 = 1.0 - next_unit();  // (0, 1]: log is finite
  const double u2 = next_unit();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// One per thread, seeded 0 at the thread's first use: threads that each build
// and train their own model draw the numbers they would draw alone, without a
// lock. manual_seed reseeds the calling thread's. (PyTorch has one locked
// process-wide generator.)
Generator& default_generator() {
  thread_local Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().seed(seed); }

namespace {
template <class T, class Draw>
Tensor<T> fill_with(const Shape& shape, bool requires_grad, Draw draw) {
  xt::xarray<T> value = new_array<T>(shape);
  for (auto& v : value) v = static_cast<T>(draw());
  return Tensor<T>(std::move(value), requires_grad);
}
}  // namespace

template <class T>
Tensor<T> randn(const Shape& shape, Generator& gen, bool requires_grad) {
  return fill_with<T>(shape, requires_grad, [&] { return gen.next_normal(); });
}
template <class T>
Tensor<T> rand(const Shape& shape, Generator& gen, bool requires_grad) {
  return fill_with<T>(shape, requires_grad, [&] { return gen.next_unit(); });
}
template <class T>
Tensor<T> uniform(const Shape& shape, T low, T high, Generator& gen, bool requires_grad) {
  return fill_with<T>(shape, requires_grad, [&] { return low + (high - low) * gen.next_unit(); });
}

#define REWIND_INSTANTIATE(T)                                                          \
  template Tensor<T> randn<T>(const Shape&, Generator&, bool);                  \
  template Tensor<T> rand<T>(const Shape&, Generator&, bool);                   \
  template Tensor<T> uniform<T>(const Shape&, T, T, Generator&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
