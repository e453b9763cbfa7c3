#include "rnn_cell.hpp"

#include <algorithm>

#include "../autograd/blas.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/vector_math.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

namespace {

// The Elman step, fused (fused_steps.hpp):
//   forward   a = p_t + h W_hhᵀ (in P's rows),  h' = act(a)
//   backward  δ = g ⊙ act'(a),  dL/dh = δ W_hh   (dL/dW_hh = Σ_t δ_tᵀ h_{t-1}: the unroll's)
// act' from the output: tanh' = 1 - h'², relu' = [h' > 0].
template <class T>
struct RNNStep final : StepKernel<T> {
  Nonlinearity act;
  explicit RNNStep(Nonlinearity nonlinearity)
      : StepKernel<T>(nonlinearity == Nonlinearity::tanh ? "rnn_tanh_step" : "rnn_relu_step", 1, 1, 0, 0, true),
        act(nonlinearity) {}

  void forward(const StepRows<T>& r, T* a, T* next) const override {
    const std::size_t B = r.batch, H = r.hidden;
    blas::times_weight_transposed(B, H, H, r.previous, H, r.weight_hh, r.weight_hh_t, T(1), a, H);
    if (act == Nonlinearity::tanh)
      vector_math::tanh(a, next, B * H);
    else
      for (std::size_t i = 0; i < B * H; ++i) next[i] = std::max(a[i], T(0));
  }

  void backward(const StepRows<T>& r, const T* h, const T* g, const StepGrads<T>& out) const override {
    const std::size_t B = r.batch, H = r.hidden;
    T* delta = out.delta;
    if (act == Nonlinearity::tanh)
      for (std::size_t i = 0; i < B * H; ++i) delta[i] = g[i] * (T(1) - h[i] * h[i]);
    else
      for (std::size_t i = 0; i < B * H; ++i) delta[i] = h[i] > T(0) ? g[i] : T(0);
    if (out.previous) blas::gemm(false, false, B, H, H, T(1), delta, H, r.weight_hh, H, T(0), out.previous, H);
  }

  // h' = act(p + h W_hhᵀ)
  RecurrentState<T> as_ops(const Tensor<T>& p, const RecurrentState<T>& state, const Tensor<T>& weight_hh,
                      const Tensor<T>&) const override {
    const Tensor<T> pre_activation = p + matmul(state[0], weight_hh, false, true);
    return {act == Nonlinearity::tanh ? tanh(pre_activation) : relu(pre_activation)};
  }
};

template <class T>
const RNNStep<T>& rnn_step(Nonlinearity nonlinearity) {
  static const RNNStep<T> tanh_step(Nonlinearity::tanh), relu_step(Nonlinearity::relu);
  return nonlinearity == Nonlinearity::tanh ? tanh_step : relu_step;
}

}  // namespace

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
Tensor<T> RNNCell<T>::forward(const Tensor<T>& x, const Tensor<T>& h) const {
  this->check_step(x, {h}, {"hidden state h"});
  return this->step(this->project_input(x), {h})[0];
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
const StepKernel<T>& RNNCell<T>::step_kernel() const {
  return rnn_step<T>(nonlinearity_);
}

template class RNNCell<float>;
template class RNNCell<double>;

}  // namespace rwd::nn
