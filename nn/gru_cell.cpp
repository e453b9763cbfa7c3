#include "gru_cell.hpp"

#include <algorithm>

#include "../autograd/blas.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/vector_math.hpp"
#include "fused_steps.hpp"

namespace rwd::nn {

namespace {

// The GRU step (equations in gru_cell.hpp), fused (fused_steps.hpp). b_hh
// stays in the step (inside r ⊙ (h W_hnᵀ + b_hn)); saved per row: r, z, n, q_n.
//   forward   q = h W_hhᵀ + b_hh = [q_r | q_z | q_n]  (scratch)
//             r = σ(p_r + q_r),  z = σ(p_z + q_z),  n = tanh(p_n + r ⊙ q_n),  h' = n + z ⊙ (h - n)
//   backward  δ_n = g ⊙ (1 - z) ⊙ (1 - n²),  δ_r = δ_n ⊙ q_n ⊙ r(1-r),  δ_z = g ⊙ (h - n) ⊙ z(1-z)
//             dL/dP_t = [δ_r | δ_z | δ_n],  dL/dq = [δ_r | δ_z | δ_n ⊙ r]  (the δ multiplying W_hh)
//             dL/db_hh += Σ_b dL/dq,  dL/dh = dL/dq W_hh + g ⊙ z
template <class T>
struct GRUStep final : StepKernel<T> {
  GRUStep() : StepKernel<T>("gru_step", 3, 1, 4, 3, false, true) {}

  void forward(const StepRows<T>& r, T* p, T* h_next) const override {
    const std::size_t B = r.batch, H = r.hidden;
    T* q = r.scratch;  // [B, 3H]
    if (r.bias_hh)
      for (std::size_t b = 0; b < B; ++b) std::copy_n(r.bias_hh, 3 * H, q + b * 3 * H);
    blas::times_weight_transposed(B, 3 * H, H, r.previous, H, r.weight_hh, r.weight_hh_t, r.bias_hh ? T(1) : T(0), q,
                                  3 * H);
    for (std::size_t b = 0; b < B; ++b) {
      const T *pb = p + b * 3 * H, *qb = q + b * 3 * H, *hb = r.previous + b * H;
      T* keep = r.saved + b * 4 * H;  // r z n q_n
      for (std::size_t j = 0; j < 2 * H; ++j) keep[j] = pb[j] + qb[j];
      vector_math::sigmoid_in_place(keep, 2 * H);
      for (std::size_t j = 0; j < H; ++j) {
        keep[3 * H + j] = qb[2 * H + j];
        keep[2 * H + j] = pb[2 * H + j] + keep[j] * qb[2 * H + j];
      }
      vector_math::tanh_in_place(keep + 2 * H, H);
      for (std::size_t j = 0; j < H; ++j) {
        const T z = keep[H + j], n = keep[2 * H + j];
        h_next[b * H + j] = n + z * (hb[j] - n);
      }
    }
  }

  void backward(const StepRows<T>& r, const T*, const T* g, const StepGrads<T>& out) const override {
    const std::size_t B = r.batch, H = r.hidden;
    T* dq = out.hidden_delta;
    for (std::size_t b = 0; b < B; ++b) {
      const T* keep = r.saved + b * 4 * H;
      const T *gb = g + b * H, *hb = r.previous + b * H;
      T *d = out.delta + b * 3 * H, *dqb = dq + b * 3 * H;
      for (std::size_t j = 0; j < H; ++j) {
        const T rr = keep[j], z = keep[H + j], n = keep[2 * H + j], q_n = keep[3 * H + j];
        const T d_n = gb[j] * (T(1) - z) * (T(1) - n * n);
        d[j] = dqb[j] = d_n * q_n * rr * (T(1) - rr);
        d[H + j] = dqb[H + j] = gb[j] * (hb[j] - n) * z * (T(1) - z);
        d[2 * H + j] = d_n;
        dqb[2 * H + j] = d_n * rr;
      }
    }
    if (out.bias_hh)
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < 3 * H; ++j) out.bias_hh[j] += dq[b * 3 * H + j];
    if (out.previous) {
      blas::gemm(false, false, B, H, 3 * H, T(1), dq, 3 * H, r.weight_hh, H, T(0), out.previous, H);
      for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < H; ++j) out.previous[b * H + j] += g[b * H + j] * r.saved[b * 4 * H + H + j];
    }
  }

  // q = h W_hhᵀ + b_hh = [q_r | q_z | q_n], then the equations in gru_cell.hpp,
  // with h' = (1 - z) ⊙ n + z ⊙ h computed as n + z ⊙ (h - n) (same value, fewer ops).
  RecurrentState<T> as_ops(const Tensor<T>& p, const RecurrentState<T>& state, const Tensor<T>& weight_hh,
                      const Tensor<T>& bias_hh) const override {
    const Tensor<T>& h = state[0];
    const std::size_t H = h.size(-1);
    const auto x_part = split(p, {H, H, H}, -1);
    const auto h_part = split(linear(h, weight_hh, bias_hh), {H, H, H}, -1);
    const Tensor<T> r = sigmoid(x_part[0] + h_part[0]);
    const Tensor<T> z = sigmoid(x_part[1] + h_part[1]);
    const Tensor<T> n = tanh(x_part[2] + r * h_part[2]);
    return {n + z * (h - n)};
  }
};

template <class T>
const GRUStep<T> gru_step{};

}  // namespace

template <class T>
GRUCell<T>::GRUCell(std::size_t input_size, std::size_t hidden_size, bool bias, Generator& generator,
                    RecurrentInit init)
    : GatedCell<T>("GRUCell", 3, input_size, hidden_size, bias, generator, init) {}

template <class T>
GRUCell<T>::GRUCell(CellWeights<T> weights) : GatedCell<T>("GRUCell", 3, std::move(weights)) {}

// p = x W_ihᵀ + b_ih = [x W_irᵀ + b_ir | x W_izᵀ + b_iz | x W_inᵀ + b_in]
template <class T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& x, const Tensor<T>& h) const {
  this->check_step(x, {h}, {"hidden state h"});
  return this->step(this->project_input(x), {h})[0];
}

template <class T>
Tensor<T> GRUCell<T>::forward(const Tensor<T>& x) const {
  this->check_step(x, {}, {});
  return forward(x, zeros<T>({x.size(0), this->hidden_size_}));
}

template <class T>
const StepKernel<T>& GRUCell<T>::step_kernel() const {
  return gru_step<T>;
}

template class GRUCell<float>;
template class GRUCell<double>;

}  // namespace rwd::nn
