#include "elman_bptt.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include <xtensor/xmath.hpp>

#include "../autograd/blas.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/tensor.hpp"
#include "../autograd/vector_math.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::bptt {

namespace {

template <class T>
using Array = xt::xarray<T>;

std::string layer_text(std::size_t l) { return "layer " + std::to_string(l); }

// ---- shape checks -------------------------------------------------------------------

struct Sizes {
  std::size_t steps, batch;
};

template <class T>
Sizes check_input(const char* op, const Array<T>& x) {
  if (x.dimension() != 3 || x.shape()[0] == 0)
    throw Error(std::string(op) + ": x must be [T, B, I] with T >= 1, got " + format_shape(x));
  return {x.shape()[0], x.shape()[1]};
}

// Checks U [H, I], W [H, H], b [H]; returns H.
template <class T>
std::size_t check_layer(const char* op, const ElmanLayer<T>& layer, std::size_t l, std::size_t input_size) {
  const std::string where = std::string(op) + ": " + layer_text(l) + ": ";
  if (layer.U.dimension() != 2)
    throw Error(where + "U must be [H, I], got " + format_shape(layer.U));
  const std::size_t H = layer.U.shape()[0];
  if (layer.U.shape()[1] != input_size)
    throw Error(where + "U has shape " + format_shape(layer.U) + ", expected [" + std::to_string(H) + ", " +
                std::to_string(input_size) + "] (I is the size of the layer's input)");
  if (layer.W.dimension() != 2 || layer.W.shape()[0] != H || layer.W.shape()[1] != H)
    throw Error(where + "W has shape " + format_shape(layer.W) + ", expected [" + std::to_string(H) + ", " +
                std::to_string(H) + "]");
  if (layer.b.dimension() != 1 || layer.b.shape()[0] != H)
    throw Error(where + "b has shape " + format_shape(layer.b) + ", expected [" + std::to_string(H) + "]");
  return H;
}

template <class T>
void check_shape(const std::string& what, const Array<T>& a, std::initializer_list<std::size_t> expected) {
  const Shape want(expected.begin(), expected.end());
  if (Shape(a.shape().begin(), a.shape().end()) != want)
    throw Error(what + " has shape " + format_shape(a) + ", expected " + format_shape(want));
}

template <class T>
void check_trace(const char* op, const ElmanLayerTrace<T>& trace, std::size_t l, Sizes s, std::size_t H) {
  const std::string where = std::string(op) + ": " + layer_text(l) + ": trace ";
  check_shape(where + "a", trace.a, {s.steps, s.batch, H});
  check_shape(where + "h", trace.h, {s.steps + 1, s.batch, H});
}

// ---- elementwise pieces (raw loops: no temporaries) ----------------------------

// h = act(a) over n values
template <class T>
void activate(ElmanActivation f, const T* a, T* h, std::size_t n) {
  switch (f) {
    case ElmanActivation::identity: std::copy(a, a + n, h); break;
    case ElmanActivation::tanh:  // xsimd's vectorised tanh, as the tape's (2-4x std::tanh)
      vector_math::tanh(a, h, n);
      break;
    case ElmanActivation::relu:
      for (std::size_t i = 0; i < n; ++i) h[i] = a[i] > T(0) ? a[i] : T(0);
      break;
  }
}

// δ = act'(a) ⊙ g, with tanh'(a) = 1 - h² (h = tanh a) and relu'(a) = [a > 0] (0 at 0, as the tape).
template <class T>
void times_derivative(ElmanActivation f, const T* a, const T* h, const T* g, T* delta, std::size_t n) {
  switch (f) {
    case ElmanActivation::identity: std::copy(g, g + n, delta); break;
    case ElmanActivation::tanh:
      for (std::size_t i = 0; i < n; ++i) delta[i] = (T(1) - h[i] * h[i]) * g[i];
      break;
    case ElmanActivation::relu:
      for (std::size_t i = 0; i < n; ++i) delta[i] = a[i] > T(0) ? g[i] : T(0);
      break;
  }
}

// out[j] = Σ_r m[r, j]
template <class T>
void column_sums(const T* m, std::size_t rows, std::size_t cols, T* out) {
  std::fill(out, out + cols, T(0));
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t j = 0; j < cols; ++j) out[j] += m[r * cols + j];
}

// dst[i] += src[i]
template <class T>
void accumulate(const T* src, T* dst, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) dst[i] += src[i];
}

// ---- the pieces of the backward --------------------------------------------------

// A layer seen by the backward: its weights, its input x_1..x_T (the data, or
// the layer below's h_1..h_T) and its forward trace.
template <class T>
struct LayerRef {
  const ElmanLayer<T>* layer;
  const T* x;  // [T, B, I]
  std::size_t input_size, hidden_size;
  const ElmanLayerTrace<T>* trace;
};

template <class T>
ElmanLayerGradients<T> allocate_gradients(const LayerRef<T>& L, Sizes s, bool per_step, bool input_grad = true) {
  const std::size_t I = L.input_size, H = L.hidden_size;
  ElmanLayerGradients<T> g;
  g.U = Array<T>::from_shape({H, I});
  g.W = Array<T>::from_shape({H, H});
  g.b = Array<T>::from_shape({H});
  g.h0 = xt::zeros<T>({s.batch, H});
  if (input_grad) g.x = Array<T>::from_shape({s.steps, s.batch, I});
  g.dh = xt::zeros<T>({s.steps, s.batch, H});
  if (per_step) g.W_per_step = Array<T>::from_shape({s.steps, H, H});
  return g;
}

// With every δ_t known ([T, B, H], stacked), the sums over t are single GEMMs
// over the T·B rows:
//   dL/dU = Σ_t δ_tᵀ x_t      = Δᵀ X          [H, T·B] [T·B, I]
//   dL/dW = Σ_t δ_tᵀ h_{t-1}  = Δᵀ H_{0..T-1}  (h[0..T-1] are contiguous rows)
//   dL/db = Σ_t Σ_batch δ_t
//   dL/dx_t = δ_t U          = Δ U            [T·B, H] [H, I]
// (row-major, batch first: each δ_t is [B, H], so "δ_t x_tᵀ" of the column-vector
// notation is δ_tᵀ x_t here, summed over the batch by the GEMM.)
template <class T>
void parameter_gradients(const LayerRef<T>& L, Sizes s, const T* delta, ElmanLayerGradients<T>& g) {
  const std::size_t I = L.input_size, H = L.hidden_size, rows = s.steps * s.batch;
  const T* h = L.trace->h.data();
  blas::gemm(true, false, H, I, rows, T(1), delta, H, L.x, I, T(0), g.U.data(), I);
  blas::gemm(true, false, H, H, rows, T(1), delta, H, h, H, T(0), g.W.data(), H);
  column_sums(delta, rows, H, g.b.data());
  if (g.x.dimension() == 3) blas::gemm(false, false, rows, I, H, T(1), delta, H, L.layer->U.data(), I, T(0), g.x.data(), I);
  if (g.W_per_step.dimension() != 3) return;
  for (std::size_t t = 0; t < s.steps; ++t)  // δ_tᵀ h_{t-1}, one [H, H] per step
    blas::gemm(true, false, H, H, s.batch, T(1), delta + t * s.batch * H, H, h + t * s.batch * H, H, T(0),
               g.W_per_step.data() + t * H * H, H);
}

// Full BPTT for one layer: on entry g.dh holds dL/dh_t direct; on exit the total.
//   for t = T..1:  dL/dh_t += δ_{t+1} W  (t < T),   δ_t = act'(a_t) ⊙ dL/dh_t
//   dL/dh_0 = δ_1 W
// `delta` is a [T, B, H] buffer; no allocation inside the loop.
template <class T>
void sweep(const LayerRef<T>& L, Sizes s, T* delta, ElmanLayerGradients<T>& g) {
  const std::size_t H = L.hidden_size, BH = s.batch * H;
  const auto act = L.layer->activation;
  const T* a = L.trace->a.data();
  const T* h = L.trace->h.data();
  const T* W = L.layer->W.data();
  T* dh = g.dh.data();
  for (std::size_t t = s.steps; t-- > 0;) {  // 0-based: step t+1
    if (t + 1 < s.steps) blas::gemm(false, false, s.batch, H, H, T(1), delta + (t + 1) * BH, H, W, H, T(1), dh + t * BH, H);
    times_derivative(act, a + t * BH, h + (t + 1) * BH, dh + t * BH, delta + t * BH, BH);
  }
  blas::gemm(false, false, s.batch, H, H, T(1), delta, H, W, H, T(0), g.h0.data(), H);
}

// Truncated BPTT, one chain per loss term, all chains advanced together.
//
// Chain t carries ε^{(t)}_s = ∂(loss term t)/∂h_s for s = t, t-1, …, t-k+1. At
// depth d (s = t - d) every live chain moves one step with one GEMM:
//   δ^{(t)}_s   = act'(a_s) ⊙ ε^{(t)}_s
//   ε^{(t)}_{s-1} = δ^{(t)}_s W                       (only while d + 1 < k)
//   a layer below gets, at the same step, ε_low^{(t)}_s += δ^{(t)}_s U  (same window)
// and the reported quantities are sums over chains:
//   dL/dh_s = Σ_t ε^{(t)}_s,   δ̃_s = Σ_t δ^{(t)}_s,   dL/dh_0 = Σ_{t ≤ k} δ^{(t)}_1 W
// after which dU, dW, db, dx follow from δ̃ exactly as in full BPTT (they are linear
// in δ). Chains are stored by their loss step t, so at depth d the live chains
// t = d+1..T sit in contiguous rows and meet the contiguous steps s = 1..T-d.
// Cost: min(k, T) GEMMs of (T - d)·B rows per layer, i.e. O(T·k·B·H²).
template <class T>
void windowed(const std::vector<LayerRef<T>>& layers, Sizes s, const T* top_direct, int k,
              std::vector<ElmanLayerGradients<T>>& grads) {
  const std::size_t n_layers = layers.size(), depth = std::min<std::size_t>(static_cast<std::size_t>(k), s.steps);
  std::vector<Array<T>> chain_dh(n_layers), chain_delta(n_layers), delta_sum(n_layers);
  for (std::size_t l = 0; l < n_layers; ++l) {
    const std::size_t H = layers[l].hidden_size;
    chain_dh[l] = xt::zeros<T>({s.steps, s.batch, H});
    chain_delta[l] = Array<T>::from_shape({s.steps, s.batch, H});
    delta_sum[l] = xt::zeros<T>({s.steps, s.batch, H});
  }
  std::copy(top_direct, top_direct + chain_dh.back().size(), chain_dh.back().data());

  for (std::size_t d = 0; d < depth; ++d) {
    const std::size_t live = s.steps - d;  // chains t = d+1..T at steps s = 1..T-d
    for (std::size_t l = n_layers; l-- > 0;) {
      const auto& L = layers[l];
      const std::size_t H = L.hidden_size, BH = s.batch * H, n = live * BH;
      T* e = chain_dh[l].data() + d * BH;
      T* dl = chain_delta[l].data() + d * BH;
      times_derivative(L.layer->activation, L.trace->a.data(), L.trace->h.data() + BH, e, dl, n);
      accumulate(e, grads[l].dh.data(), n);
      accumulate(dl, delta_sum[l].data(), n);
      if (l > 0) {  // into the layer below, same chains, same steps; it holds δ W from the last depth (or 0)
        const std::size_t I = L.input_size;
        blas::gemm(false, false, live * s.batch, I, H, T(1), dl, H, L.layer->U.data(), I, d == 0 ? T(0) : T(1),
                   chain_dh[l - 1].data() + d * s.batch * I, I);
      }
    }
    for (std::size_t l = 0; l < n_layers; ++l) {
      const auto& L = layers[l];
      const std::size_t H = L.hidden_size, BH = s.batch * H;
      const T* dl = chain_delta[l].data() + d * BH;
      // chain t = d+1 is at s = 1: its next state is h_0, inside its window since d < k
      blas::gemm(false, false, s.batch, H, H, T(1), dl, H, L.layer->W.data(), H, T(1), grads[l].h0.data(), H);
      if (d + 1 < depth)  // chains t = d+2..T step back to s - 1 >= 1
        blas::gemm(false, false, (live - 1) * s.batch, H, H, T(1), dl + BH, H, L.layer->W.data(), H, T(0),
                   chain_dh[l].data() + (d + 1) * BH, H);
    }
  }
  for (std::size_t l = 0; l < n_layers; ++l) parameter_gradients(layers[l], s, delta_sum[l].data(), grads[l]);
}

void check_truncation(const char* op, int k) {
  if (k <= 0) throw Error(std::string(op) + ": truncation k must be >= 1 steps, got " + std::to_string(k));
}

// Shapes of the model against x and its trace; returns the per-layer views.
template <class T>
std::vector<LayerRef<T>> layer_refs(const char* op, const ElmanModel<T>& model, const Array<T>& x,
                                    const ElmanTrace<T>& trace, Sizes s) {
  if (model.layers.empty()) throw Error(std::string(op) + ": the model has no layers");
  if (trace.layers.size() != model.layers.size())
    throw Error(std::string(op) + ": the trace has " + std::to_string(trace.layers.size()) +
                " layers, the model " + std::to_string(model.layers.size()));
  std::vector<LayerRef<T>> refs;
  const T* input = x.data();
  std::size_t input_size = x.shape()[2];
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    const std::size_t H = check_layer(op, model.layers[l], l, input_size);
    check_trace(op, trace.layers[l], l, s, H);
    refs.push_back({&model.layers[l], input, input_size, H, &trace.layers[l]});
    input = trace.layers[l].h.data() + s.batch * H;  // h_1..h_T feed the next layer
    input_size = H;
  }
  return refs;
}

template <class T>
std::size_t output_size(const char* op, const ElmanModel<T>& model, std::size_t top_hidden) {
  if (!model.readout) return top_hidden;
  const auto& r = *model.readout;
  if (r.V.dimension() != 2 || r.V.shape()[1] != top_hidden)
    throw Error(std::string(op) + ": readout V has shape " + format_shape(r.V) + ", expected [O, " +
                std::to_string(top_hidden) + "] (H of the top layer)");
  check_shape(std::string(op) + ": readout c", r.c, {r.V.shape()[0]});
  return r.V.shape()[0];
}

}  // namespace

// ---- forward ------------------------------------------------------------------------

namespace {

// a_t = x_t Uᵀ + b for all t at once (one GEMM over T·B rows, b preloaded, beta = 1),
// then for t = 1..T:  a_t += h_{t-1} Wᵀ,  h_t = act(a_t).   x: [T, B, I], h0: [B, H].
template <class T>
ElmanLayerTrace<T> forward_layer(const ElmanLayer<T>& layer, const T* x, std::size_t I, Sizes s, const T* h0) {
  const std::size_t H = layer.U.shape()[0], BH = s.batch * H;
  ElmanLayerTrace<T> trace;
  trace.a = Array<T>::from_shape({s.steps, s.batch, H});
  trace.h = Array<T>::from_shape({s.steps + 1, s.batch, H});
  T* a = trace.a.data();
  T* h = trace.h.data();
  if (h0) std::copy(h0, h0 + BH, h);
  else std::fill(h, h + BH, T(0));
  for (std::size_t r = 0; r < s.steps * s.batch; ++r) std::copy(layer.b.data(), layer.b.data() + H, a + r * H);
  blas::gemm(false, true, s.steps * s.batch, H, I, T(1), x, I, layer.U.data(), I, T(1), a, H);
  const std::vector<T> W_t = blas::kept_transpose(s.batch, H, H, layer.W.data());
  for (std::size_t t = 0; t < s.steps; ++t) {
    blas::times_weight_transposed(s.batch, H, H, h + t * BH, H, layer.W.data(), W_t.empty() ? nullptr : W_t.data(),
                                  T(1), a + t * BH, H);
    activate(layer.activation, a + t * BH, h + (t + 1) * BH, BH);
  }
  return trace;
}

}  // namespace

template <class T>
ElmanLayerTrace<T> elman_layer_forward(const ElmanLayer<T>& layer, const xt::xarray<T>& x, const xt::xarray<T>& h0) {
  const char* op = "elman_layer_forward";
  const Sizes s = check_input(op, x);
  const std::size_t I = x.shape()[2], H = check_layer(op, layer, 0, I);
  check_shape(std::string(op) + ": h0", h0, {s.batch, H});
  return forward_layer(layer, x.data(), I, s, h0.data());
}

template <class T>
ElmanLayerTrace<T> elman_layer_forward(const ElmanLayer<T>& layer, const xt::xarray<T>& x) {
  const char* op = "elman_layer_forward";
  const Sizes s = check_input(op, x);
  const std::size_t I = x.shape()[2];
  check_layer(op, layer, 0, I);
  return forward_layer(layer, x.data(), I, s, static_cast<const T*>(nullptr));
}

// Layer by layer (layer l+1 reads h_1..h_T of layer l in place), then
// o_t = h_t Vᵀ + c for all t as one GEMM.
template <class T>
ElmanTrace<T> elman_forward(const ElmanModel<T>& model, const xt::xarray<T>& x, const std::vector<xt::xarray<T>>& h0) {
  const char* op = "elman_forward";
  const Sizes s = check_input(op, x);
  if (model.layers.empty()) throw Error(std::string(op) + ": the model has no layers");
  if (!h0.empty() && h0.size() != model.layers.size())
    throw Error(std::string(op) + ": got " + std::to_string(h0.size()) + " initial states for " +
                std::to_string(model.layers.size()) + " layers");
  ElmanTrace<T> trace;
  const T* input = x.data();
  std::size_t I = x.shape()[2], H = 0;
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    H = check_layer(op, model.layers[l], l, I);
    if (!h0.empty()) check_shape(std::string(op) + ": " + layer_text(l) + ": h0", h0[l], {s.batch, H});
    trace.layers.push_back(forward_layer(model.layers[l], input, I, s, h0.empty() ? nullptr : h0[l].data()));
    input = trace.layers.back().h.data() + s.batch * H;  // h_1..h_T
    I = H;
  }
  const std::size_t O = output_size(op, model, H);
  trace.o = Array<T>::from_shape({s.steps, s.batch, O});
  if (model.readout) {
    const auto& r = *model.readout;
    for (std::size_t row = 0; row < s.steps * s.batch; ++row)
      std::copy(r.c.data(), r.c.data() + O, trace.o.data() + row * O);
    blas::gemm(false, true, s.steps * s.batch, O, H, T(1), input, H, r.V.data(), H, T(1), trace.o.data(), O);
  } else {
    std::copy(input, input + trace.o.size(), trace.o.data());
  }
  return trace;
}

// ---- backward -----------------------------------------------------------------------

template <class T>
ElmanLayerGradients<T> elman_layer_backward(const ElmanLayer<T>& layer, const xt::xarray<T>& x,
                                            const ElmanLayerTrace<T>& trace, const xt::xarray<T>& dh_direct,
                                            const BpttOptions& options) {
  const char* op = "elman_layer_backward";
  const Sizes s = check_input(op, x);
  const std::size_t I = x.shape()[2], H = check_layer(op, layer, 0, I);
  check_trace(op, trace, 0, s, H);
  check_shape(std::string(op) + ": dh_direct", dh_direct, {s.steps, s.batch, H});
  if (options.truncation) check_truncation(op, *options.truncation);
  const LayerRef<T> ref{&layer, x.data(), I, H, &trace};
  std::vector<ElmanLayerGradients<T>> grads;
  grads.push_back(allocate_gradients(ref, s, options.per_step_weight_grads, options.input_grad));
  if (options.truncation && static_cast<std::size_t>(*options.truncation) < s.steps) {
    windowed<T>({ref}, s, dh_direct.data(), *options.truncation, grads);
  } else {
    std::copy(dh_direct.data(), dh_direct.data() + dh_direct.size(), grads[0].dh.data());
    Array<T> delta = Array<T>::from_shape({s.steps, s.batch, H});
    sweep(ref, s, delta.data(), grads[0]);
    parameter_gradients(ref, s, delta.data(), grads[0]);
  }
  return std::move(grads[0]);
}

namespace {

// The readout's backward, and the gradient it hands to the top layer:
//   dL/dV = Σ_t dL/do_tᵀ h_t  (one GEMM over T·B rows),  dL/dc = Σ_t dL/do_t,
//   dL/dh_t direct = dL/do_t V  (one GEMM).  Without a readout, dL/dh_t direct = dL/do_t.
template <class T>
Array<T> readout_backward(const char* op, const ElmanModel<T>& model, const LayerRef<T>& top, Sizes s,
                          const Array<T>& dL_do, ElmanGradients<T>& grads) {
  const std::size_t H = top.hidden_size, O = output_size(op, model, H);
  check_shape(std::string(op) + ": dL_do", dL_do, {s.steps, s.batch, O});
  if (!model.readout) return dL_do;
  const auto& r = *model.readout;
  const std::size_t rows = s.steps * s.batch;
  grads.V = Array<T>::from_shape({O, H});
  grads.c = Array<T>::from_shape({O});
  blas::gemm(true, false, O, H, rows, T(1), dL_do.data(), O, top.trace->h.data() + s.batch * H, H, T(0),
             grads.V.data(), H);
  column_sums(dL_do.data(), rows, O, grads.c.data());
  Array<T> direct = Array<T>::from_shape({s.steps, s.batch, H});
  blas::gemm(false, false, rows, H, O, T(1), dL_do.data(), O, r.V.data(), H, T(0), direct.data(), H);
  return direct;
}

template <class T>
ElmanGradients<T> model_backward(const char* op, const ElmanModel<T>& model, const xt::xarray<T>& x,
                                 const ElmanTrace<T>& trace, const xt::xarray<T>& dL_do, std::optional<int> k,
                                 bool per_step, bool input_grad) {
  const Sizes s = check_input(op, x);
  const auto refs = layer_refs(op, model, x, trace, s);
  if (k) check_truncation(op, *k);
  ElmanGradients<T> grads;
  const Array<T> top_direct = readout_backward(op, model, refs.back(), s, dL_do, grads);
  for (std::size_t l = 0; l < refs.size(); ++l)  // upper layers' dL/dx feeds the layer below: always made
    grads.layers.push_back(allocate_gradients(refs[l], s, per_step, l > 0 || input_grad));
  if (k) {
    windowed(refs, s, top_direct.data(), *k, grads.layers);
    return grads;
  }
  // Full BPTT, top layer first: a layer's dL/dx_t is the layer below's dL/dh_t direct.
  std::size_t max_hidden = 0;
  for (const auto& ref : refs) max_hidden = std::max(max_hidden, ref.hidden_size);
  Array<T> delta = Array<T>::from_shape({s.steps * s.batch * max_hidden});
  for (std::size_t l = refs.size(); l-- > 0;) {
    auto& g = grads.layers[l];
    const Array<T>& direct = l + 1 == refs.size() ? top_direct : grads.layers[l + 1].x;
    std::copy(direct.data(), direct.data() + g.dh.size(), g.dh.data());
    sweep(refs[l], s, delta.data(), g);
    parameter_gradients(refs[l], s, delta.data(), g);
  }
  return grads;
}

}  // namespace

template <class T>
ElmanGradients<T> elman_backward(const ElmanModel<T>& model, const xt::xarray<T>& x, const ElmanTrace<T>& trace,
                                 const xt::xarray<T>& dL_do, const BpttOptions& options) {
  std::optional<int> k = options.truncation;
  if (k && *k > 0 && x.dimension() == 3 && static_cast<std::size_t>(*k) >= x.shape()[0]) k.reset();  // k >= T: full
  return model_backward("elman_backward", model, x, trace, dL_do, k, options.per_step_weight_grads,
                        options.input_grad);
}

namespace detail {
template <class T>
ElmanGradients<T> elman_backward_windowed(const ElmanModel<T>& model, const xt::xarray<T>& x,
                                          const ElmanTrace<T>& trace, const xt::xarray<T>& dL_do, int k,
                                          bool per_step_weight_grads) {
  return model_backward("elman_backward", model, x, trace, dL_do, std::optional<int>(k), per_step_weight_grads, true);
}
}  // namespace detail

// L = 1/N Σ (o - y)²,  dL/do = 2 (o - y) / N,  N = T·B·O
template <class T>
ElmanLoss<T> elman_mse_loss(const xt::xarray<T>& o, const xt::xarray<T>& y) {
  if (Shape(o.shape().begin(), o.shape().end()) != Shape(y.shape().begin(), y.shape().end()))
    throw Error("elman_mse_loss: output " + format_shape(o) + " and target " + format_shape(y) + " differ in shape");
  ElmanLoss<T> loss{T(0), Array<T>::from_shape(o.shape())};
  const std::size_t n = o.size();
  const T scale = T(2) / static_cast<T>(n);
  for (std::size_t i = 0; i < n; ++i) {
    const T r = o.data()[i] - y.data()[i];
    loss.value += r * r;
    loss.grad.data()[i] = scale * r;
  }
  loss.value /= static_cast<T>(n);
  return loss;
}

#define REWIND_INSTANTIATE(T)                                                                                           \
  template ElmanLayerTrace<T> elman_layer_forward<T>(const ElmanLayer<T>&, const xt::xarray<T>&);               \
  template ElmanLayerTrace<T> elman_layer_forward<T>(const ElmanLayer<T>&, const xt::xarray<T>&,                \
                                                     const xt::xarray<T>&);                                      \
  template ElmanLayerGradients<T> elman_layer_backward<T>(const ElmanLayer<T>&, const xt::xarray<T>&,           \
                                                          const ElmanLayerTrace<T>&, const xt::xarray<T>&,       \
                                                          const BpttOptions&);                                   \
  template ElmanTrace<T> elman_forward<T>(const ElmanModel<T>&, const xt::xarray<T>&,                           \
                                          const std::vector<xt::xarray<T>>&);                                    \
  template ElmanGradients<T> elman_backward<T>(const ElmanModel<T>&, const xt::xarray<T>&, const ElmanTrace<T>&, \
                                               const xt::xarray<T>&, const BpttOptions&);                        \
  template ElmanLoss<T> elman_mse_loss<T>(const xt::xarray<T>&, const xt::xarray<T>&);                          \
  template ElmanGradients<T> detail::elman_backward_windowed<T>(const ElmanModel<T>&, const xt::xarray<T>&,     \
                                                                const ElmanTrace<T>&, const xt::xarray<T>&, int, \
                                                                bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::bptt
