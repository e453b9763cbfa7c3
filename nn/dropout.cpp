#include "dropout.hpp"

#include <sstream>

#include "../autograd/engine.hpp"
#include "../autograd/instantiate.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

void check_dropout_probability(const std::string& where, double p) {
  if (!(p >= 0.0 && p <= 1.0)) {  // also rejects NaN
    std::ostringstream message;
    message << where << ": dropout should be a number in range [0, 1] representing the probability of an element "
            << "being zeroed, got " << p;
    throw Error(message.str());
  }
}

// s_i = [u_i >= p] / (1 - p), u_i ~ U[0, 1); for p = 1 no u_i is kept.
template <class T>
xt::xarray<T> dropout_mask(const Shape& shape, double p, Generator& gen) {
  xt::xarray<T> scale = xt::xarray<T>::from_shape(shape);
  const T keep_scale = p < 1.0 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  for (auto& s : scale) s = gen.next_unit() >= p ? keep_scale : T(0);
  return scale;
}

// y = x ⊙ s (s from dropout_mask)       dy/dx = g ⊙ s
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen) {
  check_dropout_probability("dropout", p);
  if (!training || p == 0.0) return x;
  xt::xarray<T> scale = dropout_mask<T>(x.shape(), p, gen);
  xt::xarray<T> value = x.value() * scale;
  Tensor<T> scale_tensor(std::move(scale));  // a constant: the mask is not differentiated
  return record<T>("dropout", std::move(value), {x},
                   [scale_tensor](const auto&, const auto&, const Tensor<T>& g) { return Grads<T>{g * scale_tensor}; });
}

template <class T>
Dropout<T>::Dropout(double p, Generator& gen) : p_(p), gen_(&gen) {
  check_dropout_probability("Dropout", p);
}

template <class T>
std::string Dropout<T>::extra_repr() const {
  std::ostringstream out;
  out << "p=" << p_;
  return out.str();
}

#define REWIND_INSTANTIATE(T)                                                 \
  template Tensor<T> dropout<T>(const Tensor<T>&, double, bool, Generator&);  \
  template xt::xarray<T> dropout_mask<T>(const Shape&, double, Generator&);   \
  template class Dropout<T>;
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
