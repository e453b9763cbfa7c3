// GRUCell: one step of a gated recurrent unit (PyTorch's nn.GRUCell).
#pragma once

#include "recurrent_cell.hpp"

namespace rwd::nn {

//   r  = σ(x W_irᵀ + b_ir + h W_hrᵀ + b_hr)            reset gate
//   z  = σ(x W_izᵀ + b_iz + h W_hzᵀ + b_hz)            update gate
//   n  = tanh(x W_inᵀ + b_in + r ⊙ (h W_hnᵀ + b_hn))    candidate
//   h' = (1 - z) ⊙ n + z ⊙ h
// weight_ih = [W_ir; W_iz; W_in] [3H, I], weight_hh likewise [3H, H],
// bias_ih, bias_hh [3H]: PyTorch's layout, gate order r, z, n. b_hn sits
// inside r ⊙ (...), so unlike the LSTM's the two biases are not interchangeable.
template <class T>
class GRUCell : public GatedCell<T> {
 public:
  GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
          Generator& generator = default_generator(), RecurrentInit init = RecurrentInit::uniform);
  explicit GRUCell(CellWeights<T> weights);

  // h' from x [B, I] and h [B, H] (zeros when not given).
  Tensor<T> forward(const Tensor<T>& x, const Tensor<T>& h) const;
  Tensor<T> forward(const Tensor<T>& x) const;


 protected:
  const StepKernel<T>& step_kernel() const override;
};

}  // namespace rwd::nn
