// LayerNorm: PyTorch's nn.LayerNorm over the trailing axes normalized_shape,
// with parameters "weight" (ones) and "bias" (zeros) of that shape, so state
// dicts load from and into PyTorch's; without elementwise_affine, none.
#pragma once

#include <string>

#include "../autograd/tensor.hpp"
#include "module.hpp"

namespace rwd::nn {

template <class T>
class LayerNorm : public Module<T> {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);

  // x: [..., *normalized_shape] -> the same shape (rwd::layer_norm).
  Tensor<T> forward(const Tensor<T>& x) const;
  Tensor<T> operator()(const Tensor<T>& x) const { return forward(x); }

  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;  // "(4,), eps=1e-05, elementwise_affine=True", as PyTorch prints it

  const Shape& normalized_shape() const { return normalized_shape_; }
  double eps() const { return eps_; }

  Tensor<T> weight;  // normalized_shape; undefined without elementwise_affine
  Tensor<T> bias;    // likewise

 private:
  Shape normalized_shape_;
  double eps_;
};

}  // namespace rwd::nn
