#include "op_support.hpp"
#include "instantiate.hpp"

namespace rwd {

using detail::if_needed;

// y = a + b                     dy/da = g,  dy/db = g        (each summed to its input's shape)
template <class T>
Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b) {
  auto f = [](const auto& x, const auto& y) { return x + y; };
  return record<T>("add", detail::broadcast_apply("add", a, b, f), {a, b},
                   [](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{if_needed(in, 0, [&] { return sum_to(g, in[0].shape()); }),
                                     if_needed(in, 1, [&] { return sum_to(g, in[1].shape()); })};
                   });
}

// y = a - b                     dy/da = g,  dy/db = -g
template <class T>
Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b) {
  auto f = [](const auto& x, const auto& y) { return x - y; };
  return record<T>("sub", detail::broadcast_apply("sub", a, b, f), {a, b},
                   [](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{if_needed(in, 0, [&] { return sum_to(g, in[0].shape()); }),
                                     if_needed(in, 1, [&] { return sum_to(neg(g), in[1].shape()); })};
                   });
}

// y = a ⊙ b                     dy/da = g ⊙ b,  dy/db = g ⊙ a
template <class T>
Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b) {
  auto f = [](const auto& x, const auto& y) { return x * y; };
  return record<T>("mul", detail::broadcast_apply("mul", a, b, f), {a, b},
                   [](const auto& in, const auto&, const Tensor<T>& g) {
                     return Grads<T>{if_needed(in, 0, [&] { return sum_to(g * in[1], in[0].shape()); }),
                                     if_needed(in, 1, [&] { return sum_to(g * in[0], in[1].shape()); })};
                   });
}

// y = a / b                     dy/da = g / b,  dy/db = -g ⊙ y / b
template <class T>
Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b) {
  auto f = [](const auto& x, const auto& y) { return x / y; };
  return record<T>("div", detail::broadcast_apply("div", a, b, f), {a, b},
                   [](const auto& in, const Tensor<T>& y, const Tensor<T>& g) {
                     return Grads<T>{if_needed(in, 0, [&] { return sum_to(g / in[1], in[0].shape()); }),
                                     if_needed(in, 1, [&] { return sum_to(neg(g * y / in[1]), in[1].shape()); })};
                   });
}

// y = -a                        dy/da = -g
template <class T>
Tensor<T> neg(const Tensor<T>& a) {
  return record<T>("neg", detail::map_values<T>(a.value(), [](T v) { return -v; }), {a},
                   [](const auto&, const auto&, const Tensor<T>& g) { return Grads<T>{neg(g)}; });
}

// y = a + s                     dy/da = g
template <class T>
Tensor<T> add_scalar(const Tensor<T>& a, T s) {
  return record<T>("add_scalar", detail::map_values<T>(a.value(), [s](T v) { return v + s; }), {a},
                   [](const auto&, const auto&, const Tensor<T>& g) { return Grads<T>{g}; });
}

// y = a · s                     dy/da = g · s
template <class T>
Tensor<T> mul_scalar(const Tensor<T>& a, T s) {
  return record<T>("mul_scalar", detail::map_values<T>(a.value(), [s](T v) { return v * s; }), {a},
                   [s](const auto&, const auto&, const Tensor<T>& g) { return Grads<T>{g * s}; });
}

#define REWIND_INSTANTIATE(T)                                                 \
  template Tensor<T> add<T>(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> sub<T>(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> mul<T>(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> div<T>(const Tensor<T>&, const Tensor<T>&);       \
  template Tensor<T> neg<T>(const Tensor<T>&);                         \
  template Tensor<T> add_scalar<T>(const Tensor<T>&, T);               \
  template Tensor<T> mul_scalar<T>(const Tensor<T>&, T);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
