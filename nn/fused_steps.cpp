#include "fused_steps.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "../autograd/blas.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/grad_mode.hpp"
#include "../autograd/gradient_sink.hpp"
#include "../autograd/op_support.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/vector_math.hpp"

namespace rwd::nn {

namespace {

// What the step nodes of one direction share. Row blocks are indexed by time
// t; the steps run in order s = 0..T-1 at time t = time(s).
template <class T>
struct Unroll {
  FusedCell kind;
  std::size_t steps, batch, hidden, gates;
  std::size_t state_width;  // columns of a step node's value: H, or 2H for an LSTM's [h | c]
  std::size_t saved_width;  // columns kept per step for backward (activations)
  bool reverse;
  // P = x W_ihᵀ + b [T·B, G·H], the input projection of every step: read by the
  // steps' forward only, so it is freed once they have run (the tape keeps no
  // copy); its sink hands dL/dP, written by the steps' backward, to x, W_ih, b.
  xt::xarray<T> projected;
  Tensor<T> weight_hh, bias_hh;  // bias_hh: the GRU's, inside r ⊙ (h W_hnᵀ + b_hn)
  GradientSink<T> projected_grad, weight_hh_grad, bias_hh_grad;
  xt::xarray<T> saved;    // [T·B, saved_width]
  xt::xarray<T> outputs;  // [T, B, H], handed to the output node
  xt::xarray<T> scratch;  // per-step temporaries, reused
  // dL/dW_hh = Σ_t δ_tᵀ h_{t-1} is one GEMM over all T·B rows, done by the last
  // step to run backward (s = 0), instead of T thin GEMMs (rank-B updates that
  // read and write all of W_hh every step). Until then each step keeps its rows:
  xt::xarray<T> previous_h;    // [T·B, H]: h_{t-1}
  xt::xarray<T> hidden_delta;  // [T·B, gates·H]: δ_t on the W_hh side, unless dL/dP's rows hold it already
  std::uint64_t steps_done_pass = 0;
  std::size_t steps_done = 0;  // steps whose backward ran in that pass
  // dL/d(outputs) of the current pass, set by the output node's backward
  // (created after every step, so it runs before them).
  Tensor<T> output_grad;
  std::uint64_t output_grad_pass = 0;

  std::size_t time(std::size_t s) const { return reverse ? steps - 1 - s : s; }
  // P is the unroll's own and each block is read by one step, once: a step may
  // add its recurrent product into its block in place.
  T* projected_rows(std::size_t t) { return projected.data() + t * batch * gates * hidden; }
  // Where the W_hh-side δ of step t goes: the GRU's differs from dL/dP (δ_n ⊙ r);
  // the RNN's and LSTM's is dL/dP's row block when P needs a gradient.
  bool delta_in_projected_grad() const { return kind != FusedCell::gru && projected_grad.active(); }
  T* hidden_delta_rows(std::size_t t) {
    if (hidden_delta.dimension() == 0) hidden_delta = xt::xarray<T>::from_shape({steps * batch, gates * hidden});
    return hidden_delta.data() + t * batch * gates * hidden;
  }
  T* saved_rows(std::size_t t) { return saved.data() + t * batch * saved_width; }
  // Row block t of dL/d(outputs), or null if the outputs got no gradient in this pass.
  const T* output_grad_rows(std::size_t t) const {
    if (!output_grad.defined() || output_grad_pass != detail::current_backward_pass()) return nullptr;
    return output_grad.data() + t * batch * hidden;
  }
};

// out += in, n values
template <class T>
void add_into(T* out, const T* in, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out[i] += in[i];
}

// ---- forward of one step, per cell --------------------------------------------
// h_prev: the previous step's node value (or the initial state), [B, state_width].

// a = p_t + h W_hhᵀ (in P's block),   h' = act(a)
template <class T>
void rnn_forward(Unroll<T>& u, std::size_t t, const T* h_prev, T* h_next) {
  const std::size_t B = u.batch, H = u.hidden;
  T* a = u.projected_rows(t);
  blas::gemm(false, true, B, H, H, T(1), h_prev, H, u.weight_hh.data(), H, T(1), a, H);
  if (u.kind == FusedCell::rnn_tanh)
    vector_math::tanh(a, h_next, B * H);
  else
    for (std::size_t i = 0; i < B * H; ++i) h_next[i] = std::max(a[i], T(0));
}

// [i | f | g | o] = p_t + h W_hhᵀ,  i, f, o = σ(·), g = tanh(·)
// c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')
// Saved per step: the activated gates and tanh(c'), [B, 5H].
template <class T>
void lstm_forward(Unroll<T>& u, std::size_t t, const T* hc_prev, T* hc_next) {
  const std::size_t B = u.batch, H = u.hidden, S = u.saved_width;
  T* saved = u.saved_rows(t);
  T* a = u.projected_rows(t);  // pre-activations, in P's block
  blas::gemm(false, true, B, 4 * H, H, T(1), hc_prev, 2 * H, u.weight_hh.data(), H, T(1), a, 4 * H);
  for (std::size_t b = 0; b < B; ++b) {
    T* gate = saved + b * S;  // i f g o, then tanh(c')
    const T* pre = a + b * 4 * H;
    vector_math::sigmoid(pre, gate, 2 * H);
    vector_math::tanh(pre + 2 * H, gate + 2 * H, H);
    vector_math::sigmoid(pre + 3 * H, gate + 3 * H, H);
    const T* c = hc_prev + b * 2 * H + H;
    T* h_out = hc_next + b * 2 * H;
    T* c_out = h_out + H;
    T* tanh_c = gate + 4 * H;
    for (std::size_t j = 0; j < H; ++j) tanh_c[j] = c_out[j] = gate[H + j] * c[j] + gate[j] * gate[2 * H + j];
    vector_math::tanh_in_place(tanh_c, H);
    for (std::size_t j = 0; j < H; ++j) h_out[j] = gate[3 * H + j] * tanh_c[j];
  }
}

// q = h W_hhᵀ + b_hh = [q_r | q_z | q_n]
// r = σ(p_r + q_r),  z = σ(p_z + q_z),  n = tanh(p_n + r ⊙ q_n),  h' = (1 - z) ⊙ n + z ⊙ h
// Saved per step: r, z, n and q_n, [B, 4H].
template <class T>
void gru_forward(Unroll<T>& u, std::size_t t, const T* h_prev, T* h_next) {
  const std::size_t B = u.batch, H = u.hidden, S = u.saved_width;
  T* q = u.scratch.data();  // [B, 3H]
  if (u.bias_hh.defined())
    for (std::size_t b = 0; b < B; ++b) std::copy_n(u.bias_hh.data(), 3 * H, q + b * 3 * H);
  blas::gemm(false, true, B, 3 * H, H, T(1), h_prev, H, u.weight_hh.data(), H, u.bias_hh.defined() ? T(1) : T(0),
             q, 3 * H);
  const T* p = u.projected_rows(t);
  T* saved = u.saved_rows(t);
  for (std::size_t b = 0; b < B; ++b) {
    const T *pb = p + b * 3 * H, *qb = q + b * 3 * H, *hb = h_prev + b * H;
    T* keep = saved + b * S;  // r z n q_n
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

// ---- backward of one step, per cell -------------------------------------------
// g: dL/d(step output) [B, state_width], the total from every later use.
// Each writes dL/d(pre-activations) as `delta` (the step's row block of dL/dP
// when P needs it, else scratch), adds its dL/dW_hh (and the GRU's dL/db_hh)
// term, and returns dL/dh_prev's recurrent part in `dh_prev` [B, state_width]
// (null when the previous state needs no gradient).

// δ = g ⊙ act'(a);  dL/dh = δ W_hh   (dL/dW_hh += δᵀ h: see defer_weight_hh_grad)
template <class T>
void rnn_backward(Unroll<T>& u, const T* h, const T* g, T* delta, T* dh_prev) {
  const std::size_t B = u.batch, H = u.hidden;
  if (u.kind == FusedCell::rnn_tanh)
    for (std::size_t i = 0; i < B * H; ++i) delta[i] = g[i] * (T(1) - h[i] * h[i]);
  else
    for (std::size_t i = 0; i < B * H; ++i) delta[i] = h[i] > T(0) ? g[i] : T(0);
  if (dh_prev) blas::gemm(false, false, B, H, H, T(1), delta, H, u.weight_hh.data(), H, T(0), dh_prev, H);
}

// With tc = tanh(c'):
//   dc = g_c + g_h ⊙ o ⊙ (1 - tc²)
//   δ_i = dc ⊙ g ⊙ i(1-i),  δ_f = dc ⊙ c ⊙ f(1-f),  δ_g = dc ⊙ i ⊙ (1-g²),  δ_o = g_h ⊙ tc ⊙ o(1-o)
//   dL/dh = δ W_hh,   dL/dc = dc ⊙ f   (dL/dW_hh += δᵀ h: see defer_weight_hh_grad)
template <class T>
void lstm_backward(Unroll<T>& u, std::size_t t, const T* hc_prev, const T* g, T* delta, T* dhc_prev) {
  const std::size_t B = u.batch, H = u.hidden, S = u.saved_width;
  const T* saved = u.saved_rows(t);
  for (std::size_t b = 0; b < B; ++b) {
    const T* gate = saved + b * S;
    const T *g_h = g + b * 2 * H, *g_c = g_h + H, *c = hc_prev + b * 2 * H + H;
    T* d = delta + b * 4 * H;
    for (std::size_t j = 0; j < H; ++j) {
      const T i = gate[j], f = gate[H + j], gg = gate[2 * H + j], o = gate[3 * H + j], tc = gate[4 * H + j];
      const T dc = g_c[j] + g_h[j] * o * (T(1) - tc * tc);
      d[j] = dc * gg * i * (T(1) - i);
      d[H + j] = dc * c[j] * f * (T(1) - f);
      d[2 * H + j] = dc * i * (T(1) - gg * gg);
      d[3 * H + j] = g_h[j] * tc * o * (T(1) - o);
      if (dhc_prev) dhc_prev[b * 2 * H + H + j] = dc * f;
    }
  }
  if (dhc_prev) blas::gemm(false, false, B, H, 4 * H, T(1), delta, 4 * H, u.weight_hh.data(), H, T(0), dhc_prev, 2 * H);
}

//   δ_n = g ⊙ (1 - z) ⊙ (1 - n²),   δ_r = δ_n ⊙ q_n ⊙ r(1-r),   δ_z = g ⊙ (h - n) ⊙ z(1-z)
//   dL/dP_t = [δ_r | δ_z | δ_n],   dL/dq = [δ_r | δ_z | δ_n ⊙ r]
//   dL/db_hh += Σ_b dq,   dL/dh = dq W_hh + g ⊙ z   (dL/dW_hh += dqᵀ h: see defer_weight_hh_grad)
template <class T>
void gru_backward(Unroll<T>& u, std::size_t t, const T* h_prev, const T* g, T* delta, T* dh_prev) {
  const std::size_t B = u.batch, H = u.hidden, S = u.saved_width;
  const T* saved = u.saved_rows(t);
  // dq [B, 3H]: kept for the deferred dL/dW_hh, else in scratch (whose first
  // 3·B·H hold delta when P needs no gradient)
  T* dq = u.weight_hh_grad.active() ? u.hidden_delta_rows(t) : u.scratch.data() + 3 * B * H;
  for (std::size_t b = 0; b < B; ++b) {
    const T* keep = saved + b * S;
    const T *gb = g + b * H, *hb = h_prev + b * H;
    T *d = delta + b * 3 * H, *dqb = dq + b * 3 * H;
    for (std::size_t j = 0; j < H; ++j) {
      const T r = keep[j], z = keep[H + j], n = keep[2 * H + j], q_n = keep[3 * H + j];
      const T d_n = gb[j] * (T(1) - z) * (T(1) - n * n);
      d[j] = dqb[j] = d_n * q_n * r * (T(1) - r);
      d[H + j] = dqb[H + j] = gb[j] * (hb[j] - n) * z * (T(1) - z);
      d[2 * H + j] = d_n;
      dqb[2 * H + j] = d_n * r;
    }
  }
  if (u.bias_hh_grad.active()) {
    T* db = u.bias_hh_grad.buffer().data();
    for (std::size_t b = 0; b < B; ++b) add_into(db, dq + b * 3 * H, 3 * H);
  }
  if (dh_prev) {
    blas::gemm(false, false, B, H, 3 * H, T(1), dq, 3 * H, u.weight_hh.data(), H, T(0), dh_prev, H);
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t j = 0; j < H; ++j) dh_prev[b * H + j] += g[b * H + j] * saved[b * S + H + j];
  }
}

const char* step_name(FusedCell kind) {
  switch (kind) {
    case FusedCell::rnn_tanh: return "rnn_tanh_step";
    case FusedCell::rnn_relu: return "rnn_relu_step";
    case FusedCell::lstm: return "lstm_step";
    case FusedCell::gru: return "gru_step";
  }
  return "fused_step";
}

// Step s's share of dL/dW_hh = Σ_t δ_tᵀ h_{t-1}: keeps h_{t-1}'s rows (δ_t's are
// kept by the cell's backward), and the last step of the pass to run (s = 0,
// created first) adds the whole sum with one GEMM of inner size T·B.
// Counts the steps whose backward ran in this pass. Every pass runs all of them
// (step s+1 always sends a gradient to step s, and the outputs' node to the
// last step), which the whole-sequence products after step 0 rely on: the δ
// rows are written, never zeroed first.
template <class T>
void count_step_backward(Unroll<T>& u, std::size_t s) {
  if (u.steps_done_pass != detail::current_backward_pass()) {
    u.steps_done_pass = detail::current_backward_pass();
    u.steps_done = 0;
  }
  ++u.steps_done;
  if (s == 0 && u.steps_done != u.steps)
    throw Error(std::string(step_name(u.kind)) + ": internal error: " + std::to_string(u.steps_done) + " of " +
                std::to_string(u.steps) + " steps ran backward before the first step");
}

template <class T>
void defer_weight_hh_grad(Unroll<T>& u, std::size_t s, const T* state_prev) {
  const std::size_t B = u.batch, H = u.hidden, t = u.time(s);
  if (u.previous_h.dimension() == 0) u.previous_h = xt::xarray<T>::from_shape({u.steps * B, H});
  for (std::size_t b = 0; b < B; ++b)  // the h part of a state row ([h] or [h | c])
    std::copy_n(state_prev + b * u.state_width, H, u.previous_h.data() + (t * B + b) * H);
  if (s != 0) return;
  const T* deltas = u.delta_in_projected_grad() ? u.projected_grad.buffer().data() : u.hidden_delta.data();
  const std::size_t rows = u.steps * B, width = u.gates * H;
  blas::gemm(true, false, width, H, rows, T(1), deltas, width, u.previous_h.data(), H, T(1),
             u.weight_hh_grad.buffer().data(), H);
  u.previous_h = xt::xarray<T>();  // the backward-only buffers go until the next pass
  u.hidden_delta = xt::xarray<T>();
}

// P = x W_ihᵀ + b for all T·B rows in one GEMM, with b = b_ih + b_hh for the RNN
// and LSTM (both biases enter every pre-activation unchanged) and b = b_ih for
// the GRU (its b_hh sits inside r ⊙ (h W_hnᵀ + b_hn)). Its backward, from
// dL/dP [T·B, G·H]:  dL/dx = dL/dP W_ih,  dL/dW_ih = dL/dPᵀ x,  dL/db = Σ_rows dL/dP.
template <class T>
void project_input(Unroll<T>& u, const CellWeights<T>& weights, const Tensor<T>& input) {
  const std::size_t rows = u.steps * u.batch, in = weights.weight_ih.size(1), width = u.gates * u.hidden;
  std::vector<Tensor<T>> sources{input, weights.weight_ih};
  xt::xarray<T> bias;
  if (weights.bias_ih.defined()) {
    sources.push_back(weights.bias_ih);
    bias = weights.bias_ih.value();
    if (u.kind != FusedCell::gru) {
      sources.push_back(weights.bias_hh);
      bias += weights.bias_hh.value();
    }
  }
  u.projected = xt::xarray<T>::from_shape({rows, width});
  blas::linear_rows(rows, in, width, input.data(), weights.weight_ih.data(),
                    weights.bias_ih.defined() ? bias.data() : nullptr, u.projected.data());
  u.projected_grad = GradientSink<T>(
      std::move(sources), Shape{rows, width},
      [rows](xt::xarray<T>&& dp, const std::vector<Tensor<T>>& sources) {
        return detail::linear_grads(rows, dp.data(), sources);
      },
      "fused_input_projection");
}

// Step s of the unroll as a node: inputs {previous state, the sinks' tokens}.
template <class T>
Tensor<T> record_step(const std::shared_ptr<Unroll<T>>& unroll, std::size_t s, const Tensor<T>& previous) {
  Unroll<T>& u = *unroll;
  const std::size_t t = u.time(s), B = u.batch, H = u.hidden;
  xt::xarray<T> value = xt::xarray<T>::from_shape({B, u.state_width});
  switch (u.kind) {
    case FusedCell::rnn_tanh:
    case FusedCell::rnn_relu: rnn_forward(u, t, previous.data(), value.data()); break;
    case FusedCell::lstm: lstm_forward(u, t, previous.data(), value.data()); break;
    case FusedCell::gru: gru_forward(u, t, previous.data(), value.data()); break;
  }
  for (std::size_t b = 0; b < B; ++b)  // h_t into the layer's output rows
    std::copy_n(value.data() + b * u.state_width, H, u.outputs.data() + (t * B + b) * H);

  std::vector<Tensor<T>> inputs;  // one allocation: the previous state and up to three tokens
  inputs.reserve(4);
  inputs.push_back(previous);
  for (const auto* sink : {&u.projected_grad, &u.weight_hh_grad, &u.bias_hh_grad})
    if (sink->active()) inputs.push_back(sink->token());
  return record<T>(step_name(u.kind), std::move(value), std::move(inputs),
                   [unroll, s](const std::vector<Tensor<T>>& in, const Tensor<T>& out, const Tensor<T>& grad) {
                     Unroll<T>& u = *unroll;
                     if (GradMode::is_enabled())
                       throw Error(std::string(step_name(u.kind)) +
                                   ": double backward (create_graph) through a fused step is not supported; build "
                                   "the layer with RecurrentOptions::fused = false");
                     const std::size_t t = u.time(s), B = u.batch, H = u.hidden;
                     T* delta = u.projected_grad.active()
                                    ? u.projected_grad.buffer(/*zeroed=*/false).data() + t * B * u.gates * H
                                    : u.kind != FusedCell::gru && u.weight_hh_grad.active() ? u.hidden_delta_rows(t)
                                                                                           : u.scratch.data();
                     const bool previous_needs_grad = in[0].requires_grad();
                     xt::xarray<T> dh_prev;
                     if (previous_needs_grad) dh_prev = xt::xarray<T>::from_shape({B, u.state_width});
                     T* dh = previous_needs_grad ? dh_prev.data() : nullptr;
                     switch (u.kind) {
                       case FusedCell::rnn_tanh:
                       case FusedCell::rnn_relu: rnn_backward(u, out.data(), grad.data(), delta, dh); break;
                       case FusedCell::lstm: lstm_backward(u, t, in[0].data(), grad.data(), delta, dh); break;
                       case FusedCell::gru: gru_backward(u, t, in[0].data(), grad.data(), delta, dh); break;
                     }
                     count_step_backward(u, s);
                     if (u.weight_hh_grad.active()) defer_weight_hh_grad(u, s, in[0].data());
                     // The previous step's h also reached the layer's output: add that gradient here,
                     // so the output's gradient never has to be split into T tensors.
                     if (dh && s > 0)
                       if (const T* direct = u.output_grad_rows(u.time(s - 1)))
                         for (std::size_t b = 0; b < B; ++b) add_into(dh + b * u.state_width, direct + b * H, H);
                     Grads<T> grads;
                     grads.reserve(in.size());
                     grads.push_back(previous_needs_grad ? Tensor<T>(std::move(dh_prev)) : Tensor<T>());
                     for (auto* sink : {&u.projected_grad, &u.weight_hh_grad, &u.bias_hh_grad})
                       if (sink->active()) grads.push_back(sink->token_grad());
                     return grads;
                   });
}

}  // namespace

template <class T>
UnrollResult<T> unroll_with_fused_steps(FusedCell kind, const CellWeights<T>& weights, const Tensor<T>& input,
                             const CellState<T>& state, bool reverse) {
  auto unroll = std::make_shared<Unroll<T>>();
  Unroll<T>& u = *unroll;
  u.kind = kind;
  u.gates = kind == FusedCell::lstm ? 4 : kind == FusedCell::gru ? 3 : 1;
  u.hidden = weights.weight_hh.size(1);
  u.batch = state[0].size(0);
  const std::size_t input_size = weights.weight_ih.size(1);
  if (input.dim() < 2 || input.size(-1) != input_size || input.numel() % (u.batch * input_size) != 0)
    throw Error(std::string(step_name(kind)) + ": input " + format_shape(input.shape()) + " is not [T, " +
                std::to_string(u.batch) + ", " + std::to_string(input_size) + "]");
  u.steps = input.numel() / (u.batch * input_size);
  u.state_width = kind == FusedCell::lstm ? 2 * u.hidden : u.hidden;
  u.saved_width = kind == FusedCell::lstm ? 5 * u.hidden : kind == FusedCell::gru ? 4 * u.hidden : 0;
  u.reverse = reverse;
  u.weight_hh = weights.weight_hh;
  if (kind == FusedCell::gru) u.bias_hh = weights.bias_hh;
  const std::size_t B = u.batch, H = u.hidden, rows = u.steps * B;
  u.saved = xt::xarray<T>::from_shape({rows, u.saved_width});
  u.outputs = xt::xarray<T>::from_shape({u.steps, B, H});
  // RNN: δ [B, H]; LSTM: δ [B, 4H]; GRU: q [B, 3H] forward, δ and dq [B, 3H] each backward
  u.scratch = xt::xarray<T>::from_shape({B, (kind == FusedCell::gru ? 6 : u.gates) * H});

  // The initial state as a step node's value: h, or [h | c].
  Tensor<T> previous = kind == FusedCell::lstm ? concat(std::vector<Tensor<T>>{state[0], state[1]}, 1) : state[0];
  // Sinks before steps (backward reaches them after every step), the output node after.
  project_input(u, weights, input);
  u.weight_hh_grad = GradientSink<T>(weights.weight_hh, "fused_weight_hh_grad");
  if (u.bias_hh.defined()) u.bias_hh_grad = GradientSink<T>(u.bias_hh, "fused_bias_hh_grad");
  std::vector<Tensor<T>> step_outputs;
  step_outputs.reserve(u.steps);
  for (std::size_t s = 0; s < u.steps; ++s) {
    previous = record_step(unroll, s, previous);
    step_outputs.push_back(previous);
  }
  u.projected = xt::xarray<T>();  // read by the forward steps only

  // outputs [T, B, H]: its backward keeps dL/d(outputs) for the steps to read and
  // passes only the last step's rows on (the others are added by step s+1).
  const Tensor<T> last = step_outputs.back();
  UnrollResult<T> result;
  result.output = record<T>(
      "fused_outputs", std::move(u.outputs), std::move(step_outputs),
      [unroll](const std::vector<Tensor<T>>& in, const Tensor<T>&, const Tensor<T>& grad) {
        Grads<T> grads(in.size());
        Unroll<T>& u = *unroll;
        u.output_grad = grad;
        u.output_grad_pass = detail::current_backward_pass();
        const std::size_t B = u.batch, H = u.hidden, t = u.time(u.steps - 1);
        xt::xarray<T> last_grad = xt::zeros<T>({B, u.state_width});
        for (std::size_t b = 0; b < B; ++b)
          std::copy_n(grad.data() + (t * B + b) * H, H, last_grad.data() + b * u.state_width);
        grads.back() = Tensor<T>(std::move(last_grad));
        return grads;
      });
  u.outputs = xt::xarray<T>();
  if (kind == FusedCell::lstm)
    result.state = {slice(last, 1, 0, H), slice(last, 1, H, 2 * H)};
  else
    result.state = {last};
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                   \
  template UnrollResult<T> unroll_with_fused_steps<T>(FusedCell, const CellWeights<T>&, const Tensor<T>&, const CellState<T>&, \
                                           bool);
REWIND_INSTANTIATE(float)
REWIND_INSTANTIATE(double)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
