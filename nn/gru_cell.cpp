#include "gru_cell.hpp"

#include "../autograd/ops.hpp"
#include "../autograd/op_support.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

template <class T>
GRUCell<T>::GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias, Generator& generator,
                    RecurrentInit init)
    : GatedCell<T>("GRUCell", 3, input_size, hidden_size, bias, generator, init) {}

template <class T>
GRUCell<T>::GRUCell(CellWeights<T> weights) : GatedCell<T>("GRUCell", 3, std::move(weights)) {}

// p = x W_ihᵀ + b_ih = [x W_irᵀ + b_ir | x W_izᵀ + b_iz | x W_inᵀ + b_in]
template <class T>
Tensor<T> GRUCell<T>::project_input(const Tensor<T>& x) const {
  return linear(x, this->weight_ih_, this->bias_ih_);
}

// q = h W_hhᵀ + b_hh = [q_r | q_z | q_n], then the equations in gru_cell.hpp,
// with h' = (1 - z) ⊙ n + z ⊙ h computed as n + z ⊙ (h - n) (same value, fewer ops).
template <class T>
CellState<T> GRUCell<T>::step(const Tensor<T>& p, const CellState<T>& state) const {
  const Tensor<T>& h = state[0];
  const std::size_t H = this->hidden_size_;
  const auto x_part = split(p, {H, H, H}, 1);
  const auto h_part = split(linear(h, this->weight_hh_, this->bias_hh_), {H, H, H}, 1);
  const Tensor<T> r = sigmoid(x_part[0] + h_part[0]);
  const Tensor<T> z = sigmoid(x_part[1] + h_part[1]);
  const Tensor<T> n = tanh(x_part[2] + r * h_part[2]);
  return {n + z * (h - n)};
}

template <class T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& x, const Tensor<T>& h) const {
  this->check_step(x, {h}, {"hidden state h"});
  return step(project_input(x), {h})[0];
}

template <class T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& x) const {
  this->check_step(x, {}, {});
  return forward(x, zeros<T>({x.size(0), this->hidden_size_}));
}

template <class T>
std::optional<UnrollResult<T>> GRUCell<T>::fused_unroll(const Tensor<T>& input, const CellState<T>& state,
                                                     bool reverse) const {
  return unroll_with_fused_steps(FusedCell::gru, {this->weight_ih_, this->weight_hh_, this->bias_ih_, this->bias_hh_},
                                 input, state, reverse);
}

template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace rwd::nn
