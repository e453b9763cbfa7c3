// Linear: y = x Wᵀ + b, PyTorch's nn.Linear.
#pragma once

#include <cstddef>
#include <string>

#include "../autograd/random.hpp"
#include "module.hpp"

namespace rwd::nn {

template <class T>
class Linear : public Module<T> {
 public:
  // weight [out_features, in_features] and bias [out_features], both drawn from
  // U(-1/√in, 1/√in): PyTorch's default (kaiming_uniform with a = √5 reduces
  // to that bound for the weight, and the bias uses it too).
  Linear(std::size_t in_features, std::size_t out_features, bool bias = true,
         Generator& gen = default_generator());

  // x: [..., in_features] (e.g. [N, in] or [T, B, in]) -> [..., out_features].
  Tensor<T> forward(const Tensor<T>& x) const;
  Tensor<T> operator()(const Tensor<T>& x) const { return forward(x); }

  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  std::size_t in_features() const { return in_features_; }
  std::size_t out_features() const { return out_features_; }

  Tensor<T> weight;  // [out_features, in_features]
  Tensor<T> bias;    // [out_features], undefined when built with bias = false

 private:
  std::size_t in_features_, out_features_;
};

}  // namespace rwd::nn
