#include "layer_norm.hpp"

#include <sstream>
#include <utility>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

namespace {
std::string number(double v) {  // as Python prints it for these values: 1e-05, 0.001
  std::ostringstream out;
  out << v;
  return out.str();
}
}  // namespace

template <class T>
LayerNorm<T>::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  if (normalized_shape_.empty()) throw Error("LayerNorm: normalized_shape is empty; it must name at least one axis");
  if (!(eps > 0)) throw Error("LayerNorm: eps must be positive, got " + number(eps));
  if (!elementwise_affine) return;
  weight = this->register_parameter("weight", ones<T>(normalized_shape_));
  bias = this->register_parameter("bias", zeros<T>(normalized_shape_));
}

template <class T>
Tensor<T> LayerNorm<T>::forward(const Tensor<T>& x) const {
  return layer_norm(x, normalized_shape_, weight, bias, eps_);
}

template <class T>
std::string LayerNorm<T>::extra_repr() const {
  std::string shape = "(";
  for (std::size_t i = 0; i < normalized_shape_.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(normalized_shape_[i]);
  if (normalized_shape_.size() == 1) shape += ",";  // a Python 1-tuple
  return shape + "), eps=" + number(eps_) + ", elementwise_affine=" + (weight.defined() ? "True" : "False");
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace rwd::nn
