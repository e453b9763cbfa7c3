#include "lstm_cell.hpp"

#include "../autograd/ops.hpp"
#include "../autograd/op_support.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias, Generator& generator,
                      RecurrentInit init)
    : GatedCell<T>("LSTMCell", 4, input_size, hidden_size, bias, generator, init) {}

template <class T>
LSTMCell<T>::LSTMCell(CellWeights<T> weights) : GatedCell<T>("LSTMCell", 4, std::move(weights)) {}

// p = x W_ihᵀ + (b_ih + b_hh), all four gates at once: both biases enter
// every gate's pre-activation unchanged, so they are added here once.
template <class T>
Tensor<T> LSTMCell<T>::project_input(const Tensor<T>& x) const {
  return this->has_bias() ? linear(x, this->weight_ih_, this->bias_ih_ + this->bias_hh_) : linear(x, this->weight_ih_);
}

// [i | f | g | o] pre-activations = p + h W_hhᵀ, then the equations in lstm_cell.hpp.
template <class T>
CellState<T> LSTMCell<T>::step(const Tensor<T>& p, const CellState<T>& state) const {
  const Tensor<T>& h = state[0];
  const Tensor<T>& c = state[1];
  const std::size_t H = this->hidden_size_;
  const auto gates = split(p + matmul(h, this->weight_hh_, false, true), {H, H, H, H}, 1);
  const Tensor<T> i = sigmoid(gates[0]);
  const Tensor<T> f = sigmoid(gates[1]);
  const Tensor<T> g = tanh(gates[2]);
  const Tensor<T> o = sigmoid(gates[3]);
  Tensor<T> c_next = f * c + i * g;
  Tensor<T> h_next = o * tanh(c_next);
  return {std::move(h_next), std::move(c_next)};
}

template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& x, const LSTMState<T>& state) const {
  this->check_step(x, {state.h, state.c}, {"hidden state h", "cell state c"});
  CellState<T> next = step(project_input(x), {state.h, state.c});
  return {next[0], next[1]};
}

template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& x) const {
  this->check_step(x, {}, {});
  const Shape shape{x.size(0), this->hidden_size_};
  return forward(x, {zeros<T>(shape), zeros<T>(shape)});
}

template <class T>
std::optional<UnrollResult<T>> LSTMCell<T>::fused_unroll(const Tensor<T>& input, const CellState<T>& state,
                                                     bool reverse) const {
  return unroll_with_fused_steps(FusedCell::lstm, {this->weight_ih_, this->weight_hh_, this->bias_ih_, this->bias_hh_},
                                 input, state, reverse);
}

template class LSTMCell<float>;
template class LSTMCell<double>;

}  // namespace rwd::nn
