// RNNCell: one step of an Elman network (PyTorch's nn.RNNCell).
#pragma once

#include "recurrent_cell.hpp"

namespace rwd::nn {

//   h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh),   act = tanh or relu
// weight_ih [H, I], weight_hh [H, H], bias_ih [H], bias_hh [H].
template <class T>
class RNNCell : public GatedCell<T> {
 public:
  RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
          Nonlinearity nonlinearity = Nonlinearity::tanh, Generator& generator = default_generator(),
          RecurrentInit init = RecurrentInit::uniform);
  explicit RNNCell(CellWeights<T> weights, Nonlinearity nonlinearity = Nonlinearity::tanh);

  Nonlinearity nonlinearity() const { return nonlinearity_; }

  // h' from x [B, I] and h [B, H] (zeros when not given).
  Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& h) const;
  Tensor<T> forward(const Tensor<T>& x) const;

  std::string extra_repr() const override;

 private:
  Nonlinearity nonlinearity_;

 protected:
  const StepKernel<T>& step_kernel() const override;
};

}  // namespace rwd::nn
