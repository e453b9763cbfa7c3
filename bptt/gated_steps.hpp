// Internal to bptt/: the pieces of the LSTM and GRU references that differ
// between the two cells (one layer's forward, one step's elementwise backward).
// gated_bptt.cpp runs them over layers, steps and truncation windows.
#pragma once

#include <cstddef>

#include "gated_bptt.hpp"

namespace rwd::bptt::detail {

struct LayerSizes {
  std::size_t steps, batch, input, hidden;
};

// Fills trace (allocated here) from x [T, B, I] and the initial states [B, H]
// (null: zeros; c0 is the LSTM's only).
template <class T>
void lstm_forward_layer(const GatedLayer<T>& layer, const T* x, LayerSizes n, const T* h0, const T* c0,
                        GatedLayerTrace<T>& trace);
template <class T>
void gru_forward_layer(const GatedLayer<T>& layer, const T* x, LayerSizes n, const T* h0, GatedLayerTrace<T>& trace);

// One step s (0-based) of a layer's backward, elementwise only; the driver does
// the products with the weights. In: dh = dL/dh_s [B, H] (the total along this
// chain), carry_c = the part of dL/dc_s that comes from step s+1 (LSTM).
// Out (overwritten): dgi, dgh [B, G·H] = dL/d(x_s W_ihᵀ + b_ih) and
// dL/d(h_{s-1} W_hhᵀ + b_hh); dh_prev [B, H] = the part of dL/dh_{s-1} that
// bypasses W_hh (GRU: dh ⊙ z; LSTM: 0); carry_c = the part of dL/dc_{s-1}
// through c_s; dc [B, H] = dL/dc_s (LSTM).
template <class T>
void lstm_step_backward(const GatedLayerTrace<T>& trace, std::size_t s, std::size_t B, std::size_t H, const T* dh,
                        T* carry_c, T* dc, T* dgi, T* dgh, T* dh_prev);
template <class T>
void gru_step_backward(const GatedLayerTrace<T>& trace, std::size_t s, std::size_t B, std::size_t H, const T* dh,
                       T* dgi, T* dgh, T* dh_prev);

}  // namespace rwd::bptt::detail
