// The GRU of torch.nn.GRU, forward and backward by hand.
//
// Forward, for t = 1..T (gate order r, z, n; W_ih = [W_ir; W_iz; W_in]):
//   a_t = x_t W_ihᵀ + b_ih              [B, 3H] = [a_r | a_z | a_n]
//   m_t = h_{t-1} W_hhᵀ + b_hh          [B, 3H] = [m_r | m_z | m_n]
//   r_t = σ(a_r + m_r)   z_t = σ(a_z + m_z)
//   n_t = tanh(a_n + r_t ⊙ m_n)         (b_hn inside r ⊙ (...), as PyTorch)
//   h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
//
// Backward, with dL/dh_t the total (from the output and from step t+1):
//   dn = dL/dh_t ⊙ (1 - z_t)            dA_n = dn ⊙ (1 - n_t²)
//   dA_z = dL/dh_t ⊙ (h_{t-1} - n_t) ⊙ z_t (1 - z_t)
//   dA_r = dA_n ⊙ m_n ⊙ r_t (1 - r_t)
//   dL/da_t = [dA_r | dA_z | dA_n]      dL/dm_t = [dA_r | dA_z | dA_n ⊙ r_t]
//   dL/dh_{t-1} (through step t) = dL/dh_t ⊙ z_t + dL/dm_t W_hh,   dL/dx_t = dL/da_t W_ih
//   dL/dW_ih = Σ_t dL/da_tᵀ x_t   dL/db_ih = Σ_t Σ_batch dL/da_t
//   dL/dW_hh = Σ_t dL/dm_tᵀ h_{t-1}   dL/db_hh = Σ_t Σ_batch dL/dm_t
// (the products with the weights are the driver's, gated_bptt.cpp.)
#include <algorithm>

#include "../autograd/blas.hpp"
#include "../autograd/vector_math.hpp"
#include "gated_steps.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::bptt::detail {

template <class T>
void gru_forward_layer(const GatedLayer<T>& layer, const T* x, LayerSizes n, const T* h0, GatedLayerTrace<T>& trace) {
  const std::size_t B = n.batch, H = n.hidden, G = 3 * H, BH = B * H;
  trace.gates = xt::xarray<T>::from_shape({n.steps, B, G});
  trace.h = xt::xarray<T>::from_shape({n.steps + 1, B, H});
  trace.hn = xt::xarray<T>::from_shape({n.steps, B, H});
  T* a = trace.gates.data();  // holds a_t, then becomes r, z, n in place
  T* h = trace.h.data();
  if (h0) std::copy(h0, h0 + BH, h);
  else std::fill(h, h + BH, T(0));
  for (std::size_t r = 0; r < n.steps * B; ++r) std::copy(layer.b_ih.data(), layer.b_ih.data() + G, a + r * G);
  blas::gemm(false, true, n.steps * B, G, n.input, T(1), x, n.input, layer.W_ih.data(), n.input, T(1), a, G);
  xt::xarray<T> m = xt::xarray<T>::from_shape({B, G});
  const std::vector<T> W_hh_t = blas::kept_transpose(B, G, H, layer.W_hh.data());
  for (std::size_t t = 0; t < n.steps; ++t) {
    for (std::size_t b = 0; b < B; ++b) std::copy(layer.b_hh.data(), layer.b_hh.data() + G, m.data() + b * G);
    blas::times_weight_transposed(B, G, H, h + t * BH, H, layer.W_hh.data(), W_hh_t.empty() ? nullptr : W_hh_t.data(),
                                  T(1), m.data(), G);
    for (std::size_t b = 0; b < B; ++b) {
      T* row = a + t * B * G + b * G;
      const T* mr = m.data() + b * G;
      for (std::size_t j = 0; j < 2 * H; ++j) row[j] += mr[j];
      vector_math::sigmoid_in_place(row, 2 * H);  // r, z
      T* hn = trace.hn.data() + t * BH + b * H;
      for (std::size_t j = 0; j < H; ++j) {
        hn[j] = mr[2 * H + j];
        row[2 * H + j] += row[j] * hn[j];
      }
      vector_math::tanh_in_place(row + 2 * H, H);  // n
      const T* h_prev = h + t * BH + b * H;
      T* h_next = h + (t + 1) * BH + b * H;
      for (std::size_t j = 0; j < H; ++j)
        h_next[j] = (T(1) - row[H + j]) * row[2 * H + j] + row[H + j] * h_prev[j];
    }
  }
}

template <class T>
void gru_step_backward(const GatedLayerTrace<T>& trace, std::size_t s, std::size_t B, std::size_t H, const T* dh,
                       T* dgi, T* dgh, T* dh_prev) {
  const std::size_t G = 3 * H, BH = B * H;
  const T* gates = trace.gates.data() + s * B * G;
  const T* h_prev = trace.h.data() + s * BH;
  const T* hn = trace.hn.data() + s * BH;
  for (std::size_t b = 0; b < B; ++b) {
    const T* r = gates + b * G;
    const T* z = r + H;
    const T* n = r + 2 * H;
    T* da = dgi + b * G;
    T* dm = dgh + b * G;
    for (std::size_t j = 0; j < H; ++j) {
      const std::size_t k = b * H + j;
      const T dA_n = dh[k] * (T(1) - z[j]) * (T(1) - n[j] * n[j]);
      const T dA_z = dh[k] * (h_prev[k] - n[j]) * z[j] * (T(1) - z[j]);
      const T dA_r = dA_n * hn[k] * r[j] * (T(1) - r[j]);
      da[j] = dm[j] = dA_r;
      da[H + j] = dm[H + j] = dA_z;
      da[2 * H + j] = dA_n;
      dm[2 * H + j] = dA_n * r[j];
      dh_prev[k] = dh[k] * z[j];
    }
  }
}

#define REWIND_INSTANTIATE(T)                                                                                         \
  template void gru_forward_layer<T>(const GatedLayer<T>&, const T*, LayerSizes, const T*, GatedLayerTrace<T>&); \
  template void gru_step_backward<T>(const GatedLayerTrace<T>&, std::size_t, std::size_t, std::size_t,        \
                                     const T*, T*, T*, T*);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::bptt::detail
