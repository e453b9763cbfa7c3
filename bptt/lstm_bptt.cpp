// The LSTM of torch.nn.LSTM, forward and backward by hand.
//
// Forward, for t = 1..T (gate order i, f, g, o; W_ih = [W_ii; W_if; W_ig; W_io]):
//   A_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh       [B, 4H] = [A_i | A_f | A_g | A_o]
//   i_t = σ(A_i)   f_t = σ(A_f)   g_t = tanh(A_g)   o_t = σ(A_o)
//   c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
//   h_t = o_t ⊙ tanh(c_t)
//
// Backward. With dL/dh_t the total (from the output and from step t+1) and
// dL/dc_t = dL/dh_t ⊙ o_t ⊙ (1 - tanh²c_t) + dL/dc_{t+1} ⊙ f_{t+1}:
//   dA_o = dL/dh_t ⊙ tanh(c_t) ⊙ o_t (1 - o_t)
//   dA_i = dL/dc_t ⊙ g_t ⊙ i_t (1 - i_t)
//   dA_f = dL/dc_t ⊙ c_{t-1} ⊙ f_t (1 - f_t)
//   dA_g = dL/dc_t ⊙ i_t ⊙ (1 - g_t²)
//   dL/dh_{t-1} (through step t) = dA_t W_hh,   dL/dx_t = dA_t W_ih
//   dL/dW_ih = Σ_t dA_tᵀ x_t,   dL/dW_hh = Σ_t dA_tᵀ h_{t-1},   dL/db_ih = dL/db_hh = Σ_t Σ_batch dA_t
// (σ' = σ(1 - σ), tanh' = 1 - tanh²; the products with the weights are the driver's, gated_bptt.cpp.)
#include <algorithm>

#include "../autograd/blas.hpp"
#include "../autograd/vector_math.hpp"
#include "gated_steps.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::bptt::detail {

template <class T>
void lstm_forward_layer(const GatedLayer<T>& layer, const T* x, LayerSizes n, const T* h0, const T* c0,
                        GatedLayerTrace<T>& trace) {
  const std::size_t B = n.batch, H = n.hidden, G = 4 * H, BH = B * H;
  trace.gates = xt::xarray<T>::from_shape({n.steps, B, G});
  trace.h = xt::xarray<T>::from_shape({n.steps + 1, B, H});
  trace.c = xt::xarray<T>::from_shape({n.steps + 1, B, H});
  trace.tanh_c = xt::xarray<T>::from_shape({n.steps, B, H});
  T* A = trace.gates.data();
  T* h = trace.h.data();
  T* c = trace.c.data();
  if (h0) std::copy(h0, h0 + BH, h);
  else std::fill(h, h + BH, T(0));
  if (c0) std::copy(c0, c0 + BH, c);
  else std::fill(c, c + BH, T(0));
  // A = x W_ihᵀ + (b_ih + b_hh) for all steps: the bias rows preloaded, one GEMM over T·B rows
  for (std::size_t r = 0; r < n.steps * B; ++r)
    for (std::size_t j = 0; j < G; ++j) A[r * G + j] = layer.b_ih.data()[j] + layer.b_hh.data()[j];
  blas::gemm(false, true, n.steps * B, G, n.input, T(1), x, n.input, layer.W_ih.data(), n.input, T(1), A, G);
  const std::vector<T> W_hh_t = blas::kept_transpose(B, G, H, layer.W_hh.data());
  for (std::size_t t = 0; t < n.steps; ++t) {
    T* At = A + t * B * G;
    blas::times_weight_transposed(B, G, H, h + t * BH, H, layer.W_hh.data(), W_hh_t.empty() ? nullptr : W_hh_t.data(),
                                  T(1), At, G);
    for (std::size_t b = 0; b < B; ++b) {
      T* row = At + b * G;
      vector_math::sigmoid_in_place(row, 2 * H);          // i, f
      vector_math::tanh_in_place(row + 2 * H, H);         // g
      vector_math::sigmoid_in_place(row + 3 * H, H);      // o
      const T* c_prev = c + t * BH + b * H;
      T* c_next = c + (t + 1) * BH + b * H;
      for (std::size_t j = 0; j < H; ++j) c_next[j] = row[H + j] * c_prev[j] + row[j] * row[2 * H + j];
    }
    T* tc = trace.tanh_c.data() + t * BH;
    vector_math::tanh(c + (t + 1) * BH, tc, BH);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < H; ++j) h[(t + 1) * BH + b * H + j] = At[b * G + 3 * H + j] * tc[b * H + j];
  }
}

template <class T>
void lstm_step_backward(const GatedLayerTrace<T>& trace, std::size_t s, std::size_t B, std::size_t H, const T* dh,
                        T* carry_c, T* dc, T* dgi, T* dgh, T* dh_prev) {
  const std::size_t G = 4 * H, BH = B * H;
  const T* gates = trace.gates.data() + s * B * G;
  const T* c_prev = trace.c.data() + s * BH;
  const T* tc = trace.tanh_c.data() + s * BH;
  for (std::size_t b = 0; b < B; ++b) {
    const T* i = gates + b * G;
    const T* f = i + H;
    const T* g = i + 2 * H;
    const T* o = i + 3 * H;
    T* dA = dgi + b * G;
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t k = b * H + j;
      const T dct = dh[k] * o[j] * (T(1) - tc[k] * tc[k]) + carry_c[k];
      dc[k] = dct;
      dA[j] = dct * g[j] * i[j] * (T(1) - i[j]);
      dA[H + j] = dct * c_prev[k] * f[j] * (T(1) - f[j]);
      dA[2 * H + j] = dct * i[j] * (T(1) - g[j] * g[j]);
      dA[3 * H + j] = dh[k] * tc[k] * o[j] * (T(1) - o[j]);
      carry_c[k] = dct * f[j];
      dh_prev[k] = T(0);
    }
  }
  std::copy(dgi, dgi + B * G, dgh);  // both biases and both products see the same pre-activation
}

#define REWIND_INSTANTIATE(T)                                                                                         \
  template void lstm_forward_layer<T>(const GatedLayer<T>&, const T*, LayerSizes, const T*, const T*,         \
                                      GatedLayerTrace<T>&);                                                    \
  template void lstm_step_backward<T>(const GatedLayerTrace<T>&, std::size_t, std::size_t, std::size_t,       \
                                      const T*, T*, T*, T*, T*, T*);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::bptt::detail
