#include "rnn_cell.hpp"

#include "../autograd/ops.hpp"
#include "../autograd/op_support.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

template <class T>
RNNCell<T>::RNNCell(std::size_t input_size, std::size_t hidden_size, bool bias, Nonlinearity nonlinearity,
                    Generator& generator, RecurrentInit init)
    : GatedCell<T>("RNNCell", 1, input_size, hidden_size, bias, generator, init), nonlinearity_(nonlinearity) {}

template <class T>
RNNCell<T>::RNNCell(CellWeights<T> weights, Nonlinearity nonlinearity)
    : GatedCell<T>("RNNCell", 1, std::move(weights)), nonlinearity_(nonlinearity) {}

// p = x W_ihᵀ + (b_ih + b_hh): both biases are added to every step's
// pre-activation, so they join the input projection and cost no per-step op.
template <class T>
Tensor<T> RNNCell<T>::project_input(const Tensor<T>& x) const {
  return this->has_bias() ? linear(x, this->weight_ih_, this->bias_ih_ + this->bias_hh_) : linear(x, this->weight_ih_);
}

// h' = act(p + h W_hhᵀ)
template <class T>
CellState<T> RNNCell<T>::step(const Tensor<T>& p, const CellState<T>& state) const {
  const Tensor<T> pre_activation = p + matmul(state[0], this->weight_hh_, false, true);
  return {nonlinearity_ == Nonlinearity::tanh ? tanh(pre_activation) : relu(pre_activation)};
}

template <class T>
Tensor<T> RNNCell<T>::forward(const Tensor<T>& x, const Tensor<T>& h) const {
  this->check_step(x, {h}, {"hidden state h"});
  return step(project_input(x), {h})[0];
}

template <class T>
Tensor<T> RNNCell<T>::forward(const Tensor<T>& x) const {
  this->check_step(x, {}, {});
  return forward(x, zeros<T>({x.size(0), this->hidden_size_}));
}

template <class T>
std::string RNNCell<T>::extra_repr() const {
  std::string repr = GatedCell<T>::extra_repr();
  if (nonlinearity_ != Nonlinearity::tanh) repr += std::string(", nonlinearity=") + to_string(nonlinearity_);
  return repr;
}

template <class T>
std::optional<UnrollResult<T>> RNNCell<T>::fused_unroll(const Tensor<T>& input, const CellState<T>& state,
                                                     bool reverse) const {
  const FusedCell kind = nonlinearity_ == Nonlinearity::tanh ? FusedCell::rnn_tanh : FusedCell::rnn_relu;
  return unroll_with_fused_steps(kind, {this->weight_ih_, this->weight_hh_, this->bias_ih_, this->bias_hh_}, input,
                                 state, reverse);
}

template class RNNCell<float>;
template class RNNCell<double>;

}  // namespace rwd::nn
