// LSTMCell: one step of a long short-term memory network (PyTorch's nn.LSTMCell).
#pragma once

#include "recurrent_cell.hpp"

namespace rwd::nn {

template <class T>
struct LSTMState {
  Tensor<T> h, c;  // hidden state and cell state, each [B, H]
};

//   i  = σ(x W_iiᵀ + b_ii + h W_hiᵀ + b_hi)      input gate
//   f  = σ(x W_ifᵀ + b_if + h W_hfᵀ + b_hf)      forget gate
//   g  = tanh(x W_igᵀ + b_ig + h W_hgᵀ + b_hg)   candidate
//   o  = σ(x W_ioᵀ + b_io + h W_hoᵀ + b_ho)      output gate
//   c' = f ⊙ c + i ⊙ g
//   h' = o ⊙ tanh(c')
// weight_ih = [W_ii; W_if; W_ig; W_io] [4H, I], weight_hh likewise [4H, H],
// bias_ih, bias_hh [4H]: PyTorch's layout, gate order i, f, g, o.
template <class T>
class LSTMCell : public GatedCell<T> {
 public:
  LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias = true,
           Generator& generator = default_generator(), RecurrentInit init = RecurrentInit::uniform);
  explicit LSTMCell(CellWeights<T> weights);

  std::vector<std::size_t> state_sizes() const override { return {this->hidden_size_, this->hidden_size_}; }

  // (h', c') from x [B, I] and (h, c), each [B, H] (zeros when not given).
  LSTMState<T> forward(const Tensor<T>& x, const LSTMState<T>& state) const;
  LSTMState<T> forward(const Tensor<T>& x) const;


 protected:
  const StepKernel<T>& step_kernel() const override;
};

}  // namespace rwd::nn
