// The hand-derived BPTT: an Elman RNN's forward and backward written out from
// the equations, with no autograd inside (plain xtensor arrays and BLAS). It is
// the independent reference the tape is checked against, and the baseline the
// tape is benchmarked against.
//
// Model (one layer; the notes' W_hx = U, W_hh = W, W_qh = V), for t = 1..T:
//   a_t = U x_t + W h_{t-1} + b          (row-major, batch first: a_t = x_t Uᵀ + h_{t-1} Wᵀ + b)
//   h_t = act(a_t),   act ∈ {identity, tanh, relu}
//   o_t = V h_t + c                      (o_t = h_t Vᵀ + c)
//   L   = 1/T Σ_t l(o_t, y_t)            (MSE: l the mean over the step's B·O values)
// Backward (the notes' equations, plus the recurrence through act):
//   dL/dV    = Σ_t dL/do_t h_tᵀ            dL/dc = Σ_t dL/do_t
//   dL/dh_T  = Vᵀ dL/do_T
//   dL/dh_t  = Vᵀ dL/do_t + Wᵀ δ_{t+1},    δ_t = act'(a_t) ⊙ dL/dh_t
//   dL/dU    = Σ_t δ_t x_tᵀ    dL/dW = Σ_t δ_t h_{t-1}ᵀ    dL/db = Σ_t δ_t
//   dL/dh_0  = Wᵀ δ_1          dL/dx_t = Uᵀ δ_t
//
// Layers stack: layer l+1 reads layer l's h_t as its x_t, so the gradient that
// reaches layer l's h_t "from outside the recurrence" is Vᵀ dL/do_t for the top
// layer and Uᵀ_{l+1} δ^{l+1}_t for the others. The layer-level backward takes
// that gradient (dL/dh_t direct) as its input; the model-level one composes it.
//
// Truncated BPTT (d2l's regular truncation, per loss term): the gradient of the
// loss term at step t flows back through at most k steps — through a_t … a_{t-k+1}
// (so it reaches h_t … h_{t-k+1}), as if h_{t-k} were detached; when t ≤ k the
// window starts at the given h_0, which then receives it. Stacked layers share
// the window (every layer runs steps t-k+1..t from detached states). k ≥ T is
// full BPTT. Cost: O(T·k) instead of O(T) (one GEMM per window depth).
//
// Shapes are time-major like torch.nn.RNN: x [T, B, I], h_t [B, H], o [T, B, O].
#pragma once

#include <optional>
#include <vector>

#include <xtensor/xarray.hpp>

#include "options.hpp"

namespace rwd::bptt {

enum class ElmanActivation { identity, tanh, relu };

// One recurrent layer: a_t = x_t Uᵀ + h_{t-1} Wᵀ + b, h_t = act(a_t).
template <class T>
struct ElmanLayer {
  xt::xarray<T> U;  // [H, I]  input → hidden   (notes: W_hx; PyTorch: weight_ih_l{n})
  xt::xarray<T> W;  // [H, H]  hidden → hidden  (notes: W_hh; PyTorch: weight_hh_l{n})
  xt::xarray<T> b;  // [H]     (PyTorch: bias_ih_l{n} + bias_hh_l{n})
  ElmanActivation activation = ElmanActivation::tanh;
};

// The linear readout o_t = h_t Vᵀ + c.
template <class T>
struct ElmanReadout {
  xt::xarray<T> V;  // [O, H]  (notes: W_qh)
  xt::xarray<T> c;  // [O]
};

// A stack of layers and an optional readout. Without a readout the output o_t
// is the top layer's h_t (what torch.nn.RNN returns).
template <class T>
struct ElmanModel {
  std::vector<ElmanLayer<T>> layers;
  std::optional<ElmanReadout<T>> readout;
};

// What a layer's forward keeps for its backward.
template <class T>
struct ElmanLayerTrace {
  xt::xarray<T> a;  // [T, B, H]  pre-activations a_1 … a_T
  xt::xarray<T> h;  // [T+1, B, H]  h[0] = h_0, h[t] = h_t
};

template <class T>
struct ElmanTrace {
  std::vector<ElmanLayerTrace<T>> layers;
  xt::xarray<T> o;  // [T, B, O]  (a copy of the top h_1 … h_T without a readout)
};

template <class T>
struct ElmanLayerGradients {
  xt::xarray<T> U, W, b;     // dL/dU [H, I], dL/dW [H, H], dL/db [H]
  xt::xarray<T> h0;          // dL/dh_0 [B, H]
  xt::xarray<T> x;           // dL/dx_t [T, B, I]  (upper layers: their share of the lower layer's dL/dh_t);
                             // empty (0-D) with input_grad = false
  xt::xarray<T> dh;          // dL/dh_t [T, B, H], t = 1..T: the total, through o_t and through h_{t+1}
  xt::xarray<T> W_per_step;  // [T, H, H]: δ_t h_{t-1}ᵀ, summing to W; empty unless asked
};

template <class T>
struct ElmanGradients {
  std::vector<ElmanLayerGradients<T>> layers;  // bottom first
  xt::xarray<T> V, c;                          // dL/dV [O, H], dL/dc [O]; empty without a readout
};

template <class T>
struct ElmanLoss {
  T value;
  xt::xarray<T> grad;  // dL/do, the shape of o
};

// ---- one layer ----------------------------------------------------------------
// x [T, B, I]; h0 [B, H] (zeros when not given). Throws rwd::Error on bad shapes.
template <class T>
ElmanLayerTrace<T> elman_layer_forward(const ElmanLayer<T>& layer, const xt::xarray<T>& x);
template <class T>
ElmanLayerTrace<T> elman_layer_forward(const ElmanLayer<T>& layer, const xt::xarray<T>& x, const xt::xarray<T>& h0);

// dh_direct [T, B, H]: the gradient reaching each h_t from outside the
// recurrence (Vᵀ dL/do_t, or the layer above's Uᵀ δ_t); its step-t slice is
// treated as loss term t's for truncation.
template <class T>
ElmanLayerGradients<T> elman_layer_backward(const ElmanLayer<T>& layer, const xt::xarray<T>& x,
                                            const ElmanLayerTrace<T>& trace, const xt::xarray<T>& dh_direct,
                                            const BpttOptions& options = {});

// ---- the model --------------------------------------------------------------------
// h0: one [B, H_l] per layer, or empty for zeros.
template <class T>
ElmanTrace<T> elman_forward(const ElmanModel<T>& model, const xt::xarray<T>& x,
                            const std::vector<xt::xarray<T>>& h0 = {});

// dL_do [T, B, O]: any loss's gradient with respect to the outputs.
template <class T>
ElmanGradients<T> elman_backward(const ElmanModel<T>& model, const xt::xarray<T>& x, const ElmanTrace<T>& trace,
                                 const xt::xarray<T>& dL_do, const BpttOptions& options = {});

// L = mean over every element of (o - y)²  (= 1/T Σ_t per-step mean),  dL/do = 2 (o - y) / o.size().
template <class T>
ElmanLoss<T> elman_mse_loss(const xt::xarray<T>& o, const xt::xarray<T>& y);

namespace detail {
// The truncated backward's window algorithm, also for k >= T (where it must
// equal the single sweep: the tests hold it to that). Public callers use
// elman_backward, which takes the single sweep whenever k >= T.
template <class T>
ElmanGradients<T> elman_backward_windowed(const ElmanModel<T>& model, const xt::xarray<T>& x,
                                          const ElmanTrace<T>& trace, const xt::xarray<T>& dL_do, int k,
                                          bool per_step_weight_grads);
}  // namespace detail

}  // namespace rwd::bptt
