// Dropout: inverted dropout, PyTorch's nn.Dropout and F.dropout.
#pragma once

#include <string>

#include "../autograd/random.hpp"
#include "module.hpp"

namespace rwd::nn {

// Training: y = x ⊙ m / (1 - p), m_i ~ Bernoulli(1 - p) drawn from `gen`, so
// E[y] = x and eval needs no rescaling; p = 1 zeroes every element. Not
// training, or p = 0: y = x (the same tensor). p must be in [0, 1], as PyTorch's.
template <class T>
Tensor<T> dropout(const Tensor<T>& x, double p, bool training, Generator& gen = default_generator());

// The scale dropout multiplies by: each element 1 / (1 - p) with probability
// 1 - p, else 0 (all 0 for p = 1), drawn from `gen`. Recurrent's between-layer
// dropout uses it too.
template <class T>
xt::xarray<T> dropout_mask(const Shape& shape, double p, Generator& gen);

// Throws naming `where` unless 0 <= p <= 1 (NaN too): the one rule for every dropout probability.
void check_dropout_probability(const std::string& where, double p);

template <class T>
class Dropout : public Module<T> {
 public:
  // `gen` must outlive the module; masks are drawn from it on every forward.
  explicit Dropout(double p = 0.5, Generator& gen = default_generator());

  Tensor<T> forward(const Tensor<T>& x) const { return dropout(x, p_, this->is_training(), *gen_); }
  Tensor<T> operator()(const Tensor<T>& x) const { return forward(x); }

  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  double p() const { return p_; }

 private:
  double p_;
  Generator* gen_;
};

}  // namespace rwd::nn
