#include "dropout.hpp"

#include <sstream>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

namespace {
void check_probability(const char* where, double p) {
  if (!(p >= 0.0 && p < 1.0)) {  // also rejects NaN
    std::ostringstream message;
    message << where << ": dropout probability p must be in [0, 1), got " << p;
    throw Error(message.str());
  }
}
}  // namespace

// y = x ⊙ s,  s_i = [u_i >= p] / (1 - p), u_i ~ U[0, 1)       dy/dx = g ⊙ s
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen) {
  check_probability("dropout", p);
  if (!training || p == 0.0) return x;
  const T keep_scale = static_cast<T>(1.0 / (1.0 - p));
  xt::xarray<T> scale = xt::xarray<T>::from_shape(x.shape());
  for (auto& s : scale) s = gen.next_unit() >= p ? keep_scale : T(0);
  xt::xarray<T> value = x.value() * scale;
  Tensor<T> scale_tensor(std::move(scale));  // a constant: the mask is not differentiated
  return record<T>("dropout", std::move(value), {x},
                   [scale_tensor](const auto&, const auto&, const Tensor<T>& g) { return Grads<T>{g * scale_tensor}; });
}

template <class T>
Dropout<T>::Dropout(double p, Generator& gen) : p_(p), gen_(&gen) {
  check_probability("Dropout", p);
}

template <class T>
std::string Dropout<T>::extra_repr() const {
  std::ostringstream out;
  out << "p=" << p_;
  return out.str();
}

template Tensor<float> dropout<float>(const Tensor<float>&, double, bool, Generator&);
template Tensor<double> dropout<double>(const Tensor<double>&, double, bool, Generator&);
template class Dropout<float>;
template class Dropout<double>;

}  // namespace rwd::nn
