#include "linear.hpp"

#include <cmath>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

template <class T>
Linear<T>::Linear(std::size_t in_features, std::size_t out_features, bool bias, Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  if (in_features == 0 || out_features == 0)
    throw Error("Linear: in_features and out_features must be positive, got in_features=" +
                std::to_string(in_features) + ", out_features=" + std::to_string(out_features));
  // PyTorch draws the weight first, then the bias, from the same bound.
  const T bound = T(1) / std::sqrt(static_cast<T>(in_features));
  weight = this->register_parameter("weight", uniform<T>({out_features, in_features}, -bound, bound, gen));
  if (bias) this->bias = this->register_parameter("bias", uniform<T>({out_features}, -bound, bound, gen));
}

// y = x Wᵀ + b over the last axis. 2-D and 3-D inputs go to rwd::linear as they
// are ([T, B, in] x [out, in]ᵀ is one GEMM); other ranks are flattened to 2-D.
template <class T>
Tensor<T> Linear<T>::forward(const Tensor<T>& x) const {
  const Shape shape = x.shape();
  if (shape.empty() || shape.back() != in_features_)
    throw Error("Linear: input has shape " + format_shape(shape) + ", expected [..., " +
                std::to_string(in_features_) + "] (in_features=" + std::to_string(in_features_) + ")");
  if (shape.size() == 2 || shape.size() == 3) return linear(x, weight, bias);
  const std::size_t rows = x.numel() / in_features_;
  Shape out_shape = shape;
  out_shape.back() = out_features_;
  return reshape(linear(reshape(x, {rows, in_features_}), weight, bias), out_shape);
}

template <class T>
std::string Linear<T>::extra_repr() const {
  return "in_features=" + std::to_string(in_features_) + ", out_features=" + std::to_string(out_features_) +
         ", bias=" + (bias.defined() ? "True" : "False");
}

template class Linear<float>;
template class Linear<double>;

}  // namespace rwd::nn
