// The hand-derived BPTT of the LSTM and the GRU: forward and backward written
// out from the equations, with no autograd inside (plain xtensor arrays, BLAS,
// vector math). It shares no code with nn/'s cells or fused steps, so it is a
// second opinion on them (check_lstm_gradients / check_gru_gradients in
// check/gated_gradient_report.hpp compare the two).
//
// PyTorch's layout and gate order. Row-major, batch first within a step:
// x_t [B, I], h_t, c_t [B, H]; W_ih [G·H, I], W_hh [G·H, H], b_ih, b_hh [G·H]
// with G = 4 (LSTM: i, f, g, o) or 3 (GRU: r, z, n). The equations, forward
// and backward, are written above the code: lstm_bptt.cpp and gru_bptt.cpp.
//
// Multi-layer: layer l+1 reads layer l's h_1..h_T as its x_1..x_T (no dropout).
// The model's output is the top layer's h_1..h_T (what torch.nn.LSTM/GRU
// return); a readout and a loss are the caller's, who passes dL/do.
//
// Every t gets dL/dh_t (the total: from the output and from every later use)
// and, for the LSTM, dL/dc_t; per_step_weight_grads gives each step's share of
// every weight's gradient. Truncation (BpttOptions::truncation = k) as in
// elman_bptt.hpp: each loss term's gradient reaches back k steps, all layers
// sharing the window; O(T·k) steps of backward, where full BPTT is O(T).
//
// Shapes are time-major: x [T, B, I], o [T, B, H].
#pragma once

#include <cstddef>
#include <vector>

#include <xtensor/xarray.hpp>

#include "options.hpp"

namespace rwd::bptt {

enum class GatedKind { lstm, gru };

// G, the number of gate blocks: 4 for the LSTM, 3 for the GRU.
std::size_t gate_count(GatedKind kind);
const char* kind_name(GatedKind kind);

// One layer, as PyTorch stores it (weight_ih_l{n}, weight_hh_l{n}, bias_ih_l{n}, bias_hh_l{n}).
template <class T>
struct GatedLayer {
  xt::xarray<T> W_ih;  // [G·H, I]
  xt::xarray<T> W_hh;  // [G·H, H]
  xt::xarray<T> b_ih;  // [G·H]
  xt::xarray<T> b_hh;  // [G·H]
};

template <class T>
struct GatedModel {
  GatedKind kind = GatedKind::lstm;
  std::vector<GatedLayer<T>> layers;
};

// What a layer's forward keeps for its backward.
template <class T>
struct GatedLayerTrace {
  xt::xarray<T> gates;   // [T, B, G·H]: the gates after their activations (LSTM i f g o; GRU r z n)
  xt::xarray<T> h;       // [T+1, B, H]: h[0] = h_0, h[t] = h_t
  xt::xarray<T> c;       // LSTM: [T+1, B, H], c[0] = c_0;  GRU: empty
  xt::xarray<T> tanh_c;  // LSTM: [T, B, H], tanh(c_t);     GRU: empty
  xt::xarray<T> hn;      // GRU: [T, B, H], h_{t-1} W_hnᵀ + b_hn (what r multiplies); LSTM: empty
};

template <class T>
struct GatedTrace {
  std::vector<GatedLayerTrace<T>> layers;
  xt::xarray<T> o;  // [T, B, H]: the top layer's h_1..h_T
};

template <class T>
struct GatedLayerGradients {
  xt::xarray<T> W_ih, W_hh, b_ih, b_hh;  // the shapes of the weights
  xt::xarray<T> h0, c0;                  // [B, H] (c0: LSTM only, else empty)
  xt::xarray<T> x;                       // dL/dx_t [T, B, I]; empty for layer 0 with input_grad = false
  xt::xarray<T> dh;                      // dL/dh_t [T, B, H], t = 1..T: the total
  xt::xarray<T> dc;                      // LSTM: dL/dc_t [T, B, H], the total; GRU: empty
  // With per_step_weight_grads: step t's share of each, [T, ·] (summing to the totals); else empty.
  xt::xarray<T> W_ih_per_step, W_hh_per_step, b_ih_per_step, b_hh_per_step;
};

template <class T>
struct GatedGradients {
  std::vector<GatedLayerGradients<T>> layers;  // bottom first
};

// x [T, B, I]; h0, c0: one [B, H_l] per layer, or empty for zeros (c0: LSTM only).
// Throws rwd::Error on bad shapes.
template <class T>
GatedTrace<T> gated_forward(const GatedModel<T>& model, const xt::xarray<T>& x,
                            const std::vector<xt::xarray<T>>& h0 = {}, const std::vector<xt::xarray<T>>& c0 = {});

// dL_do [T, B, H]: any loss's gradient with respect to the outputs.
template <class T>
GatedGradients<T> gated_backward(const GatedModel<T>& model, const xt::xarray<T>& x, const GatedTrace<T>& trace,
                                 const xt::xarray<T>& dL_do, const BpttOptions& options = {});

}  // namespace rwd::bptt
