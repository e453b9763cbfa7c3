#include "gated_bptt.hpp"

#include <algorithm>
#include <string>

#include "../autograd/blas.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/tensor.hpp"
#include "gated_steps.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::bptt {

std::size_t gate_count(GatedKind kind) { return kind == GatedKind::lstm ? 4 : 3; }
const char* kind_name(GatedKind kind) { return kind == GatedKind::lstm ? "LSTM" : "GRU"; }

namespace {

using detail::LayerSizes;

template <class T>
void check_shape(const std::string& what, const xt::xarray<T>& a, std::initializer_list<std::size_t> expected) {
  const Shape want(expected.begin(), expected.end());
  if (Shape(a.shape().begin(), a.shape().end()) != want)
    throw Error(what + " has shape " + format_shape(a) + ", expected " + format_shape(want));
}

// x [T, B, I] with T >= 1; every layer's weights against its input size. Returns each layer's sizes.
template <class T>
std::vector<LayerSizes> check_model(const char* op, const GatedModel<T>& model, const xt::xarray<T>& x) {
  if (x.dimension() != 3 || x.shape()[0] == 0)
    throw Error(std::string(op) + ": x must be [T, B, I] with T >= 1, got " + format_shape(x));
  if (model.layers.empty()) throw Error(std::string(op) + ": the model has no layers");
  const std::size_t G = gate_count(model.kind);
  std::vector<LayerSizes> sizes;
  std::size_t input = x.shape()[2];
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    const auto& layer = model.layers[l];
    const std::string where = std::string(op) + ": " + kind_name(model.kind) + " layer " + std::to_string(l) + ": ";
    if (layer.W_hh.dimension() != 2 || layer.W_hh.shape()[0] != G * layer.W_hh.shape()[1] || layer.W_hh.shape()[1] == 0)
      throw Error(where + "W_hh must be [" + std::to_string(G) + "·H, H], got " + format_shape(layer.W_hh));
    const std::size_t H = layer.W_hh.shape()[1];
    check_shape(where + "W_ih", layer.W_ih, {G * H, input});
    check_shape(where + "b_ih", layer.b_ih, {G * H});
    check_shape(where + "b_hh", layer.b_hh, {G * H});
    sizes.push_back({x.shape()[0], x.shape()[1], input, H});
    input = H;
  }
  return sizes;
}

template <class T>
void check_states(const char* op, const char* name, const std::vector<xt::xarray<T>>& states,
                  const std::vector<LayerSizes>& sizes) {
  if (states.empty()) return;
  if (states.size() != sizes.size())
    throw Error(std::string(op) + ": got " + std::to_string(states.size()) + " " + name + " for " +
                std::to_string(sizes.size()) + " layers");
  for (std::size_t l = 0; l < sizes.size(); ++l)
    check_shape(std::string(op) + ": layer " + std::to_string(l) + ": " + name, states[l], {sizes[l].batch, sizes[l].hidden});
}

// out[j] += Σ_r m[r, j]
template <class T>
void add_column_sums(const T* m, std::size_t rows, std::size_t cols, T* out) {
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) out[j] += m[r * cols + j];
}

// What the sweep adds up for one layer, beside its GatedLayerGradients:
// dL/d(x_s W_ihᵀ + b_ih) and dL/d(h_{s-1} W_hhᵀ + b_hh) per step, summed over
// the truncation chains (the weight gradients are linear in them).
template <class T>
struct LayerWork {
  LayerSizes n;
  const T* x;  // [T, B, I]: the data or the layer below's h_1..h_T
  xt::xarray<T> dgi_sum, dgh_sum;              // [T, B, G·H]
  xt::xarray<T> carry_h, carry_c;              // [B, H]: along the current chain
  xt::xarray<T> dgi, dgh, dh, dc, dx;          // one step's scratch
};

// One chain: steps hi down to lo (0-based), every layer top to bottom at each
// step. direct(s) is the gradient entering the top layer's h_s from the
// output (null: none). The chain starts with no gradient in the states; at
// lo == 0 what is left reaches h_0 (and c_0).
template <class T, class Direct>
void chain(const GatedModel<T>& model, const GatedTrace<T>& trace, std::vector<LayerWork<T>>& work,
           GatedGradients<T>& grads, std::size_t hi, std::size_t lo, Direct direct) {
  const bool lstm = model.kind == GatedKind::lstm;
  for (auto& w : work) {
    std::fill(w.carry_h.begin(), w.carry_h.end(), T(0));
    if (lstm) std::fill(w.carry_c.begin(), w.carry_c.end(), T(0));
  }
  const std::size_t top = work.size() - 1;
  for (std::size_t s = hi + 1; s-- > lo;) {
    for (std::size_t l = work.size(); l-- > 0;) {
      auto& w = work[l];
      auto& g = grads.layers[l];
      const std::size_t B = w.n.batch, H = w.n.hidden, BH = B * H, G = gate_count(model.kind) * H;
      // dL/dh_s along this chain: from step s+1, plus from the output or from the layer above at step s
      const T* from_outside = l == top ? direct(s) : work[l + 1].dx.data();
      T* dh = w.dh.data();
      for (std::size_t k = 0; k < BH; ++k) dh[k] = w.carry_h.data()[k] + (from_outside ? from_outside[k] : T(0));
      T* dh_total = g.dh.data() + s * BH;
      for (std::size_t k = 0; k < BH; ++k) dh_total[k] += dh[k];
      if (lstm) {
        detail::lstm_step_backward(trace.layers[l], s, B, H, dh, w.carry_c.data(), w.dc.data(), w.dgi.data(),
                                   w.dgh.data(), w.carry_h.data());
        T* dc_total = g.dc.data() + s * BH;
        for (std::size_t k = 0; k < BH; ++k) dc_total[k] += w.dc.data()[k];
      } else {
        detail::gru_step_backward(trace.layers[l], s, B, H, dh, w.dgi.data(), w.dgh.data(), w.carry_h.data());
      }
      T* dgi_s = w.dgi_sum.data() + s * B * G;
      T* dgh_s = w.dgh_sum.data() + s * B * G;
      for (std::size_t k = 0; k < B * G; ++k) dgi_s[k] += w.dgi.data()[k], dgh_s[k] += w.dgh.data()[k];
      const auto& layer = model.layers[l];
      // to h_{s-1}: the part that bypasses W_hh (already in carry_h) + dgh W_hh
      blas::gemm(false, false, B, H, G, T(1), w.dgh.data(), G, layer.W_hh.data(), H, T(1), w.carry_h.data(), H);
      if (l > 0)  // to the layer below's h_s: dgi W_ih
        blas::gemm(false, false, B, w.n.input, G, T(1), w.dgi.data(), G, layer.W_ih.data(), w.n.input, T(0),
                   w.dx.data(), w.n.input);
    }
  }
  if (lo != 0) return;  // the window ended before h_0: its gradient is dropped (detached)
  for (std::size_t l = 0; l < work.size(); ++l) {
    auto& g = grads.layers[l];
    for (std::size_t k = 0; k < g.h0.size(); ++k) g.h0.data()[k] += work[l].carry_h.data()[k];
    if (lstm)
      for (std::size_t k = 0; k < g.c0.size(); ++k) g.c0.data()[k] += work[l].carry_c.data()[k];
  }
}

// From the summed dgi, dgh of every step: the weights' gradients (one GEMM over
// all T·B rows each), dL/dx, and each step's share when asked.
template <class T>
void parameter_gradients(const GatedLayer<T>& layer, const GatedLayerTrace<T>& trace, const LayerWork<T>& w,
                         std::size_t G, bool per_step, bool input_grad, GatedLayerGradients<T>& g) {
  const std::size_t T_ = w.n.steps, B = w.n.batch, I = w.n.input, H = w.n.hidden, rows = T_ * B;
  const T* dgi = w.dgi_sum.data();
  const T* dgh = w.dgh_sum.data();
  const T* h = trace.h.data();  // h_0..h_{T-1} are rows 0..T·B-1
  g.W_ih = xt::xarray<T>::from_shape({G, I});
  g.W_hh = xt::xarray<T>::from_shape({G, H});
  g.b_ih = xt::zeros<T>({G});
  g.b_hh = xt::zeros<T>({G});
  blas::gemm(true, false, G, I, rows, T(1), dgi, G, w.x, I, T(0), g.W_ih.data(), I);
  blas::gemm(true, false, G, H, rows, T(1), dgh, G, h, H, T(0), g.W_hh.data(), H);
  add_column_sums(dgi, rows, G, g.b_ih.data());
  add_column_sums(dgh, rows, G, g.b_hh.data());
  if (input_grad) {
    g.x = xt::xarray<T>::from_shape({T_, B, I});
    blas::gemm(false, false, rows, I, G, T(1), dgi, G, layer.W_ih.data(), I, T(0), g.x.data(), I);
  }
  if (!per_step) return;
  g.W_ih_per_step = xt::xarray<T>::from_shape({T_, G, I});
  g.W_hh_per_step = xt::xarray<T>::from_shape({T_, G, H});
  g.b_ih_per_step = xt::zeros<T>({T_, G});
  g.b_hh_per_step = xt::zeros<T>({T_, G});
  for (std::size_t t = 0; t < T_; ++t) {
    const T* dgi_t = dgi + t * B * G;
    const T* dgh_t = dgh + t * B * G;
    blas::gemm(true, false, G, I, B, T(1), dgi_t, G, w.x + t * B * I, I, T(0), g.W_ih_per_step.data() + t * G * I, I);
    blas::gemm(true, false, G, H, B, T(1), dgh_t, G, h + t * B * H, H, T(0), g.W_hh_per_step.data() + t * G * H, H);
    add_column_sums(dgi_t, B, G, g.b_ih_per_step.data() + t * G);
    add_column_sums(dgh_t, B, G, g.b_hh_per_step.data() + t * G);
  }
}

}  // namespace

template <class T>
GatedTrace<T> gated_forward(const GatedModel<T>& model, const xt::xarray<T>& x, const std::vector<xt::xarray<T>>& h0,
                            const std::vector<xt::xarray<T>>& c0) {
  const char* op = "gated_forward";
  const auto sizes = check_model(op, model, x);
  check_states(op, "h0", h0, sizes);
  if (model.kind == GatedKind::gru && !c0.empty()) throw Error(std::string(op) + ": a GRU has no cell state c0");
  check_states(op, "c0", c0, sizes);
  GatedTrace<T> trace;
  trace.layers.resize(sizes.size());
  const T* input = x.data();
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    const T* h0_l = h0.empty() ? nullptr : h0[l].data();
    if (model.kind == GatedKind::lstm)
      detail::lstm_forward_layer(model.layers[l], input, sizes[l], h0_l, c0.empty() ? nullptr : c0[l].data(),
                                 trace.layers[l]);
    else
      detail::gru_forward_layer(model.layers[l], input, sizes[l], h0_l, trace.layers[l]);
    input = trace.layers[l].h.data() + sizes[l].batch * sizes[l].hidden;  // h_1..h_T feed the next layer
  }
  const auto& top = sizes.back();
  trace.o = xt::xarray<T>::from_shape({top.steps, top.batch, top.hidden});
  std::copy(input, input + trace.o.size(), trace.o.data());
  return trace;
}

template <class T>
GatedGradients<T> gated_backward(const GatedModel<T>& model, const xt::xarray<T>& x, const GatedTrace<T>& trace,
                                 const xt::xarray<T>& dL_do, const BpttOptions& options) {
  const char* op = "gated_backward";
  const auto sizes = check_model(op, model, x);
  if (trace.layers.size() != sizes.size())
    throw Error(std::string(op) + ": the trace has " + std::to_string(trace.layers.size()) + " layers, the model " +
                std::to_string(sizes.size()));
  const bool lstm = model.kind == GatedKind::lstm;
  const std::size_t steps = sizes[0].steps, batch = sizes[0].batch;
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    const std::string where = std::string(op) + ": layer " + std::to_string(l) + ": trace ";
    const std::size_t H = sizes[l].hidden;
    check_shape(where + "gates", trace.layers[l].gates, {steps, batch, gate_count(model.kind) * H});
    check_shape(where + "h", trace.layers[l].h, {steps + 1, batch, H});
    if (lstm) check_shape(where + "c", trace.layers[l].c, {steps + 1, batch, H});
    if (lstm) check_shape(where + "tanh_c", trace.layers[l].tanh_c, {steps, batch, H});
    if (!lstm) check_shape(where + "hn", trace.layers[l].hn, {steps, batch, H});
  }
  check_shape(std::string(op) + ": dL_do", dL_do, {steps, batch, sizes.back().hidden});
  if (options.truncation && *options.truncation <= 0)
    throw Error(std::string(op) + ": truncation k must be >= 1 steps, got " + std::to_string(*options.truncation));

  GatedGradients<T> grads;
  std::vector<LayerWork<T>> work(sizes.size());
  const T* input = x.data();
  for (std::size_t l = 0; l < sizes.size(); ++l) {
    const LayerSizes n = sizes[l];
    const std::size_t G = gate_count(model.kind) * n.hidden;
    auto& w = work[l];
    w.n = n;
    w.x = input;
    input = trace.layers[l].h.data() + n.batch * n.hidden;
    w.dgi_sum = xt::zeros<T>({n.steps, n.batch, G});
    w.dgh_sum = xt::zeros<T>({n.steps, n.batch, G});
    w.carry_h = w.carry_c = w.dh = w.dc = xt::xarray<T>::from_shape({n.batch, n.hidden});
    w.dgi = w.dgh = xt::xarray<T>::from_shape({n.batch, G});
    w.dx = xt::xarray<T>::from_shape({n.batch, n.input});
    GatedLayerGradients<T> g;
    g.h0 = xt::zeros<T>({n.batch, n.hidden});
    g.dh = xt::zeros<T>({n.steps, n.batch, n.hidden});
    if (lstm) g.c0 = xt::zeros<T>({n.batch, n.hidden}), g.dc = xt::zeros<T>({n.steps, n.batch, n.hidden});
    grads.layers.push_back(std::move(g));
  }
  const std::size_t BO = batch * sizes.back().hidden;
  const std::size_t k = options.truncation ? static_cast<std::size_t>(*options.truncation) : steps;
  if (k >= steps) {  // full BPTT: one chain over all steps, every output's gradient entering at its step
    chain(model, trace, work, grads, steps - 1, 0, [&](std::size_t s) { return dL_do.data() + s * BO; });
  } else {  // one chain per loss term t, over steps t..t-k+1
    for (std::size_t t = 0; t < steps; ++t)
      chain(model, trace, work, grads, t, t + 1 >= k ? t + 1 - k : 0,
            [&](std::size_t s) { return s == t ? dL_do.data() + s * BO : static_cast<const T*>(nullptr); });
  }
  for (std::size_t l = 0; l < sizes.size(); ++l)
    parameter_gradients(model.layers[l], trace.layers[l], work[l], gate_count(model.kind) * sizes[l].hidden,
                        options.per_step_weight_grads, l > 0 || options.input_grad, grads.layers[l]);
  return grads;
}

#define REWIND_INSTANTIATE(T)                                                                                          \
  template GatedTrace<T> gated_forward<T>(const GatedModel<T>&, const xt::xarray<T>&,                          \
                                          const std::vector<xt::xarray<T>>&, const std::vector<xt::xarray<T>>&); \
  template GatedGradients<T> gated_backward<T>(const GatedModel<T>&, const xt::xarray<T>&, const GatedTrace<T>&, \
                                               const xt::xarray<T>&, const BpttOptions&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::bptt
