#include "lstm_cell.hpp"

#include "../autograd/blas.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/vector_math.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

namespace {

// The LSTM step (equations in lstm_cell.hpp), fused (fused_steps.hpp). The
// node's value is [h' | c']; saved per row: the activated gates i f g o and tc = tanh(c').
//   forward   [i | f | g | o] = σ,σ,tanh,σ(p_t + h W_hhᵀ),  c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tc
//   backward  dc = g_c + g_h ⊙ o ⊙ (1 - tc²)
//             δ_i = dc ⊙ g ⊙ i(1-i),  δ_f = dc ⊙ c ⊙ f(1-f),  δ_g = dc ⊙ i ⊙ (1-g²),  δ_o = g_h ⊙ tc ⊙ o(1-o)
//             dL/dh = δ W_hh,  dL/dc = dc ⊙ f
template <class T>
struct LSTMStep final : StepKernel<T> {
  LSTMStep() : StepKernel<T>("lstm_step", 4, 2, 5, 0, true) {}

  void forward(const StepRows<T>& r, T* a, T* hc_next) const override {
    const std::size_t B = r.batch, H = r.hidden;
    blas::times_weight_transposed(B, 4 * H, H, r.previous, 2 * H, r.weight_hh, r.weight_hh_t, T(1), a, 4 * H);
    for (std::size_t b = 0; b < B; ++b) {
      T* gate = r.saved + b * 5 * H;  // i f g o, then tanh(c')
      const T* pre = a + b * 4 * H;
      vector_math::sigmoid(pre, gate, 2 * H);
      vector_math::tanh(pre + 2 * H, gate + 2 * H, H);
      vector_math::sigmoid(pre + 3 * H, gate + 3 * H, H);
      const T* c = r.previous + b * 2 * H + H;
      T* h_out = hc_next + b * 2 * H;
      T* c_out = h_out + H;
      T* tanh_c = gate + 4 * H;
      for (std::size_t j = 0; j < H; ++j) tanh_c[j] = c_out[j] = gate[H + j] * c[j] + gate[j] * gate[2 * H + j];
      vector_math::tanh_in_place(tanh_c, H);
      for (std::size_t j = 0; j < H; ++j) h_out[j] = gate[3 * H + j] * tanh_c[j];
    }
  }

  void backward(const StepRows<T>& r, const T*, const T* g, const StepGrads<T>& out) const override {
    const std::size_t B = r.batch, H = r.hidden;
    for (std::size_t b = 0; b < B; ++b) {
      const T* gate = r.saved + b * 5 * H;
      const T *g_h = g + b * 2 * H, *g_c = g_h + H, *c = r.previous + b * 2 * H + H;
      T* d = out.delta + b * 4 * H;
      for (std::size_t j = 0; j < H; ++j) {
        const T i = gate[j], f = gate[H + j], gg = gate[2 * H + j], o = gate[3 * H + j], tc = gate[4 * H + j];
        const T dc = g_c[j] + g_h[j] * o * (T(1) - tc * tc);
        d[j] = dc * gg * i * (T(1) - i);
        d[H + j] = dc * c[j] * f * (T(1) - f);
        d[2 * H + j] = dc * i * (T(1) - gg * gg);
        d[3 * H + j] = g_h[j] * tc * o * (T(1) - o);
        if (out.previous) out.previous[b * 2 * H + H + j] = dc * f;
      }
    }
    if (out.previous)
      blas::gemm(false, false, B, H, 4 * H, T(1), out.delta, 4 * H, r.weight_hh, H, T(0), out.previous, 2 * H);
  }

  // dL/dc_t += g_h ⊙ o ⊙ (1 - tc²): the path through h_t = o ⊙ tanh(c_t)
  void add_inner_paths(const StepRows<T>& r, const T* g, T* state_grads) const override {
    const std::size_t B = r.batch, H = r.hidden;
    for (std::size_t b = 0; b < B; ++b) {
      const T* gate = r.saved + b * 5 * H;
      for (std::size_t j = 0; j < H; ++j) {
        const T o = gate[3 * H + j], tc = gate[4 * H + j];
        state_grads[b * 2 * H + H + j] += g[b * 2 * H + j] * o * (T(1) - tc * tc);
      }
    }
  }

  // [i | f | g | o] pre-activations = p + h W_hhᵀ, then the equations in lstm_cell.hpp.
  RecurrentState<T> as_ops(const Tensor<T>& p, const RecurrentState<T>& state, const Tensor<T>& weight_hh,
                      const Tensor<T>&) const override {
    const Tensor<T>& h = state[0];
    const Tensor<T>& c = state[1];
    const std::size_t H = h.size(-1);
    const auto gates = split(p + matmul(h, weight_hh, false, true), {H, H, H, H}, -1);
    const Tensor<T> i = sigmoid(gates[0]);
    const Tensor<T> f = sigmoid(gates[1]);
    const Tensor<T> g = tanh(gates[2]);
    const Tensor<T> o = sigmoid(gates[3]);
    Tensor<T> c_next = f * c + i * g;
    Tensor<T> h_next = o * tanh(c_next);
    return {std::move(h_next), std::move(c_next)};
  }
};

template <class T>
const LSTMStep<T> lstm_step{};

}  // namespace

template <class T>
LSTMCell<T>::LSTMCell(std::size_t input_size, std::size_t hidden_size, bool bias, Generator& generator,
                      RecurrentInit init)
    : GatedCell<T>("LSTMCell", 4, input_size, hidden_size, bias, generator, init) {}

template <class T>
LSTMCell<T>::LSTMCell(CellWeights<T> weights) : GatedCell<T>("LSTMCell", 4, std::move(weights)) {}

// p = x W_ihᵀ + (b_ih + b_hh), all four gates at once: both biases enter
// every gate's pre-activation unchanged, so they are added here once.
template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& x, const LSTMState<T>& state) const {
  this->check_step(x, {state.h, state.c}, {"hidden state h", "cell state c"});
  RecurrentState<T> next = this->step(this->project_input(x), {state.h, state.c});
  return {next[0], next[1]};
}

template <class T>
LSTMState<T> LSTMCell<T>::forward(const Tensor<T>& x) const {
  this->check_step(x, {}, {});
  const Shape shape{x.size(0), this->hidden_size_};
  return forward(x, {zeros<T>(shape), zeros<T>(shape)});
}

template <class T>
const StepKernel<T>& LSTMCell<T>::step_kernel() const {
  return lstm_step<T>;
}

template class LSTMCell<float>;
template class LSTMCell<double>;

}  // namespace rwd::nn
