#include "vector_math.hpp"

#include <array>

#include <xtensor/xadapt.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace rwd::vector_math {

namespace {
template <class P>
auto adapt(P* x, std::size_t n) {
  return xt::adapt(x, n, xt::no_ownership(), std::array<std::size_t, 1>{n});
}
}  // namespace

// Elementwise, so writing y while reading x is safe even when they alias.
template <class T>
void tanh(const T* x, T* y, std::size_t n) {
  auto out = adapt(y, n);
  xt::noalias(out) = xt::tanh(adapt(x, n));
}

template <class T>
void sigmoid(const T* x, T* y, std::size_t n) {
  auto out = adapt(y, n);
  xt::noalias(out) = T(1) / (T(1) + xt::exp(-adapt(x, n)));
}

template void tanh<float>(const float*, float*, std::size_t);
template void tanh<double>(const double*, double*, std::size_t);
template void sigmoid<float>(const float*, float*, std::size_t);
template void sigmoid<double>(const double*, double*, std::size_t);

}  // namespace rwd::vector_math
