#include "fused_steps.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "../autograd/blas.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/gradient_sink.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/instantiate.hpp"
#include "../autograd/tape_memory.hpp"

namespace rwd::nn {

template <class T>
Tensor<T> StepKernel<T>::project(const Tensor<T>& x, const CellWeights<T>& weights) const {
  if (!weights.bias_ih.defined()) return linear(x, weights.weight_ih);
  return linear(x, weights.weight_ih, bias_hh_in_projection ? weights.bias_ih + weights.bias_hh : weights.bias_ih);
}

namespace {

constexpr std::size_t none = static_cast<std::size_t>(-1);

// What the step nodes of one direction share. Row blocks of [T·B, ·] buffers
// are indexed by time t; the steps run in order s = 0..T-1 at time t = time(s).
template <class T>
struct Unroll {
  const StepKernel<T>* kernel = nullptr;
  std::size_t steps = 0, batch = 0, hidden = 0, inputs = 0;
  std::size_t width = 0;       // S·H: columns of a step node's value, [h] or [h | c]
  std::size_t gate_width = 0;  // G·H: columns of P and of δ
  bool reverse = false;
  std::vector<std::size_t> lengths;  // empty: no sequence is padded
  std::size_t shortest = none;       // steps t >= shortest have padded rows
  Tensor<T> weight_hh, bias_hh;
  Tensor<T> weight_hh_t;  // W_hhᵀ while the forward steps run, when that is faster (blas::keep_transposed_weight)
  // The buffers are tensors for their memory only (a released tensor's buffer
  // goes back to the cache new_array draws from): no node takes them as input.
  // P = x W_ihᵀ + b [T·B, G·H], read by the steps' forward only, so it is freed
  // once they have run; its sink hands dL/dP, written by the steps' backward,
  // to x, W_ih and b.
  Tensor<T> projected;
  GradientSink<T> projected_grad, weight_hh_grad, bias_hh_grad;
  Tensor<T> saved;    // [T·B, saved·H]
  Tensor<T> scratch;  // the kernel's [B, scratch·H], then the unroll's: two δ blocks and a masked gradient
  // A step node's inputs: the previous state, then `sources` (the layer input
  // and weights, differentiated under create_graph), then the active sinks' tokens.
  std::vector<Tensor<T>> sources;
  std::size_t first_token = 0;
  std::vector<GradientSink<T>*> active_sinks;

  struct Pass {
    Tensor<T> output_grad;          // dL/d(outputs), from the outputs' node (which runs before every step)
    std::size_t first_step = none;  // the first step whose backward ran (the highest s)
    Tensor<T> previous_h;           // [T·B, H]: h_{t-1}, for dL/dW_hh = Σ_t δ_tᵀ h_{t-1}
    Tensor<T> hidden_delta;         // [T·B, G·H]: δ_t on the W_hh side, unless dL/dP's rows hold it
  };
  PassLocal<Pass> pass;

  std::size_t time(std::size_t s) const { return reverse ? steps - 1 - s : s; }
  bool any_padded(std::size_t t) const { return t >= shortest; }
  bool padded(std::size_t t, std::size_t b) const { return t >= shortest && t >= lengths[b]; }
  T* projected_rows(std::size_t t) { return projected.mutable_data() + t * batch * gate_width; }
  T* kernel_scratch() { return scratch.mutable_data(); }
  T* unroll_scratch() { return scratch.mutable_data() + batch * kernel->scratch * hidden; }
  StepRows<T> rows(std::size_t t, const T* previous) {
    return {batch,
            hidden,
            weight_hh.data(),
            weight_hh_t.defined() ? weight_hh_t.data() : nullptr,
            bias_hh.defined() ? bias_hh.data() : nullptr,
            previous,
            saved.mutable_data() + t * batch * kernel->saved * hidden,
            kernel_scratch()};
  }
  // 1 where step t lies within sequence b, else 0: [B, 1]
  Tensor<T> mask(std::size_t t) const {
    xt::xarray<T> m = new_array<T>({batch, 1});
    for (std::size_t b = 0; b < batch; ++b) m(b, 0) = padded(t, b) ? T(0) : T(1);
    return Tensor<T>(std::move(m));
  }
};

// P = x W_ihᵀ + b for all T·B rows in one GEMM (b = b_ih + b_hh when the kernel
// puts b_hh there). Its backward, from dL/dP [T·B, G·H]: dL/dx = dL/dP W_ih,
// dL/dW_ih = dL/dPᵀ x, dL/db = Σ_rows dL/dP.
template <class T>
void project_input(Unroll<T>& u, const CellWeights<T>& weights, const Tensor<T>& input) {
  const std::size_t rows = u.steps * u.batch, in = weights.weight_ih.size(1), width = u.gate_width;
  std::vector<Tensor<T>> sources{input, weights.weight_ih};
  Tensor<T> bias;  // b_ih (+ b_hh)
  if (weights.bias_ih.defined()) {
    sources.push_back(weights.bias_ih);
    bias = weights.bias_ih;
    if (u.kernel->bias_hh_in_projection) {
      sources.push_back(weights.bias_hh);
      bias = Tensor<T>(new_array<T>({width}));
      for (std::size_t j = 0; j < width; ++j) bias.mutable_data()[j] = weights.bias_ih.data()[j] + weights.bias_hh.data()[j];
    }
  }
  u.projected = Tensor<T>(new_array<T>({rows, width}));
  blas::linear_rows(rows, in, width, input.data(), weights.weight_ih.data(), bias.defined() ? bias.data() : nullptr,
                    u.projected.mutable_data());
  u.projected_grad = GradientSink<T>(
      std::move(sources), Shape{rows, width},
      [rows](xt::xarray<T>&& dp, const std::vector<Tensor<T>>& sources) {
        return detail::linear_grads(rows, Tensor<T>(std::move(dp)), sources);
      },
      "fused_input_projection");
}

// After the last step of a pass (s = 0, created first) has run backward:
// dL/dW_hh += Σ_t δ_tᵀ h_{t-1} as one GEMM over the rows of the steps that ran
// (all of them, unless the pass began at a step's own node), and dL/dP's rows
// of the steps that did not run, never written, are zeroed.
template <class T>
void finish_pass(Unroll<T>& u, typename Unroll<T>::Pass& pass) {
  const std::size_t B = u.batch, H = u.hidden, GH = u.gate_width, ran = pass.first_step + 1;
  const std::size_t first_row = u.reverse ? (u.steps - ran) * B : 0, rows = ran * B;
  if (u.projected_grad.active() && ran < u.steps) {
    T* dp = u.projected_grad.buffer(/*zeroed=*/false).data();
    const std::size_t skipped_first = u.reverse ? 0 : rows;
    std::fill_n(dp + skipped_first * GH, (u.steps - ran) * B * GH, T(0));
  }
  if (!u.weight_hh_grad.active()) return;
  const bool in_projected_grad = !u.kernel->separate_hidden_delta && u.projected_grad.active();
  const T* deltas = in_projected_grad ? u.projected_grad.buffer().data() : pass.hidden_delta.data();
  blas::gemm(true, false, GH, H, rows, T(1), deltas + first_row * GH, GH, pass.previous_h.data() + first_row * H, H,
             T(1), u.weight_hh_grad.buffer().data(), H);
  pass.previous_h = Tensor<T>();
  pass.hidden_delta = Tensor<T>();
}

// A step's backward: the kernel's, with padded rows passing their gradient
// straight to the previous state, and the direct gradient of h_{t-1} (its rows
// of dL/d(outputs)) added to what goes back.
template <class T>
Grads<T> step_backward(Unroll<T>& u, std::size_t s, const std::vector<Tensor<T>>& in, const Tensor<T>& out,
                       const Tensor<T>& grad) {
  auto& pass = u.pass.get();
  if (pass.first_step == none) pass.first_step = s;
  const std::size_t t = u.time(s), B = u.batch, H = u.hidden, W = u.width, GH = u.gate_width;
  const bool separate = u.kernel->separate_hidden_delta;
  T* work = u.unroll_scratch();  // [B, GH] δ, [B, GH] hidden δ, [B, W] masked gradient
  auto pass_rows = [&](Tensor<T>& buffer, std::size_t columns) {
    if (!buffer.defined()) buffer = Tensor<T>(new_array<T>({u.steps * B, columns}));
    return buffer.mutable_data() + t * B * columns;
  };
  StepGrads<T> to;
  if (u.projected_grad.active())
    to.delta = u.projected_grad.buffer(/*zeroed=*/false).data() + t * B * GH;
  else
    to.delta = !separate && u.weight_hh_grad.active() ? pass_rows(pass.hidden_delta, GH) : work;
  if (!separate)
    to.hidden_delta = to.delta;
  else
    to.hidden_delta = u.weight_hh_grad.active() ? pass_rows(pass.hidden_delta, GH) : work + B * GH;
  to.bias_hh = u.bias_hh_grad.active() ? u.bias_hh_grad.buffer().data() : nullptr;
  Tensor<T> previous_grad;
  if (in[0].requires_grad()) previous_grad = Tensor<T>(new_array<T>({B, W}));
  to.previous = previous_grad.defined() ? previous_grad.mutable_data() : nullptr;

  const T* g = grad.data();
  if (u.any_padded(t)) {  // a padded row's step did not happen: no gradient through it
    T* masked = work + 2 * B * GH;
    std::copy_n(g, B * W, masked);
    for (std::size_t b = 0; b < B; ++b)
      if (u.padded(t, b)) std::fill_n(masked + b * W, W, T(0));
    g = masked;
  }
  u.kernel->backward(u.rows(t, in[0].data()), out.data(), g, to);
  if (to.previous) {
    T* dp = to.previous;
    for (std::size_t b = 0; b < B && u.any_padded(t); ++b)  // ... it carried the state unchanged
      if (u.padded(t, b)) std::copy_n(grad.data() + b * W, W, dp + b * W);
    if (s > 0 && pass.output_grad.defined()) {  // h_{t-1} also reached the layer's output
      const std::size_t before = u.time(s - 1);
      const T* direct = pass.output_grad.data() + before * B * H;
      for (std::size_t b = 0; b < B; ++b)
        if (!u.padded(before, b))
          for (std::size_t j = 0; j < H; ++j) dp[b * W + j] += direct[b * H + j];
    }
  }
  if (u.weight_hh_grad.active()) {
    T* previous_h = pass_rows(pass.previous_h, H);
    for (std::size_t b = 0; b < B; ++b) std::copy_n(in[0].data() + b * W, H, previous_h + b * H);
  }
  if (s == 0) finish_pass(u, pass);
  if (Tensor<T> retained = out.grad(); retained.defined())  // retain_step_grads: report totals
    u.kernel->add_inner_paths(u.rows(t, in[0].data()), g, retained.mutable_data());

  Grads<T> grads(in.size());
  grads[0] = previous_grad;
  for (std::size_t k = 0; k < u.active_sinks.size(); ++k) grads[u.first_token + k] = u.active_sinks[k]->token_grad();
  return grads;
}

// A step's backward under create_graph: the step again as ops (the kernel's
// as_ops on the node's own inputs), differentiated with its gradient recorded.
template <class T>
Grads<T> step_backward_as_ops(Unroll<T>& u, std::size_t s, const std::vector<Tensor<T>>& in,
                              const Tensor<T>& out, const Tensor<T>& grad) {
  const std::size_t t = u.time(s), B = u.batch, H = u.hidden;
  const Tensor<T>& previous = in[0];
  const RecurrentState<T> state =
      u.kernel->states == 1 ? RecurrentState<T>{previous} : split(previous, std::vector<std::size_t>(u.kernel->states, H), 1);
  const Tensor<T>& input = in[1];
  const Tensor<T> x_t = slice(reshape(input, {u.steps * B, u.inputs}), 0, t * B, (t + 1) * B);
  CellWeights<T> weights{in[2], in[3]};
  if (u.sources.size() > 3) weights.bias_ih = in[4];
  if (u.sources.size() > 4) weights.bias_hh = in[5];
  const RecurrentState<T> next = u.kernel->as_ops(u.kernel->project(x_t, weights), state, weights.weight_hh,
                                             weights.bias_hh);
  Tensor<T> packed = next.size() == 1 ? next[0] : concat(next, 1);
  if (u.any_padded(t)) packed = where(u.mask(t), packed, previous);
  if (Tensor<T> retained = out.grad(); retained.defined()) {  // retain_step_grads: report totals, as step_backward does
    xt::xarray<T> g = grad.value(), total = retained.value();
    for (std::size_t b = 0; b < B; ++b)
      if (u.padded(t, b)) std::fill_n(g.data() + b * u.width, u.width, T(0));
    u.kernel->add_inner_paths(u.rows(t, in[0].data()), g.data(), total.data());
    Tensor<T>(out).set_grad(Tensor<T>(std::move(total)));  // a report: a value, not part of the recorded graph
  }
  return detail::grad_up_to<T>({packed}, in, {grad}, /*create_graph=*/true);
}

// Step s of the unroll as a node.
template <class T>
Tensor<T> record_step(const std::shared_ptr<Unroll<T>>& unroll, std::size_t s, const Tensor<T>& previous,
                      T* outputs) {
  Unroll<T>& u = *unroll;
  const std::size_t t = u.time(s), B = u.batch, H = u.hidden, W = u.width;
  xt::xarray<T> value = new_array<T>({B, W});
  u.kernel->forward(u.rows(t, previous.data()), u.projected_rows(t), value.data());
  T* out = outputs + t * B * H;
  for (std::size_t b = 0; b < B; ++b) {
    if (u.padded(t, b)) {  // sequence b has ended: it keeps its state and outputs zeros
      std::copy_n(previous.data() + b * W, W, value.data() + b * W);
      std::fill_n(out + b * H, H, T(0));
    } else {
      std::copy_n(value.data() + b * W, H, out + b * H);
    }
  }
  std::vector<Tensor<T>> inputs = new_input_list<T>(1 + u.sources.size() + u.active_sinks.size());
  inputs.push_back(previous);
  inputs.insert(inputs.end(), u.sources.begin(), u.sources.end());
  for (const auto* sink : u.active_sinks) inputs.push_back(sink->token());
  return record<T>(u.kernel->name, std::move(value), std::move(inputs),
                   [unroll, s](const std::vector<Tensor<T>>& in, const Tensor<T>& out, const Tensor<T>& grad) {
                     if (detail::pass_creates_graph()) return step_backward_as_ops(*unroll, s, in, out, grad);
                     return step_backward(*unroll, s, in, out, grad);
                   });
}

// The outputs' node [T, B, H] over every step. Its backward keeps dL/d(outputs)
// for the steps to read and passes only the last step's rows on (step s+1
// adds step s's); under create_graph it hands each step its rows as ops.
template <class T>
Tensor<T> record_outputs(const std::shared_ptr<Unroll<T>>& unroll, xt::xarray<T>&& outputs,
                         std::vector<Tensor<T>> step_nodes) {
  return record<T>(
      "fused_outputs", std::move(outputs), std::move(step_nodes),
      [unroll](const std::vector<Tensor<T>>& in, const Tensor<T>&, const Tensor<T>& grad) {
        const Unroll<T>& u = *unroll;
        const std::size_t B = u.batch, H = u.hidden, W = u.width;
        Grads<T> grads(in.size());
        if (detail::pass_creates_graph()) {
          for (std::size_t s = 0; s < u.steps; ++s) {
            const std::size_t t = u.time(s);
            Tensor<T> rows = reshape(slice(grad, 0, t, t + 1), {B, H});
            if (u.any_padded(t)) rows = rows * u.mask(t);
            grads[s] = W == H ? rows : concat(std::vector<Tensor<T>>{rows, zeros<T>({B, W - H})}, 1);
          }
          return grads;
        }
        unroll->pass.get().output_grad = grad;
        const std::size_t t = u.time(u.steps - 1);
        xt::xarray<T> last = detail::filled_array<T>({B, W}, T(0));
        for (std::size_t b = 0; b < B; ++b)
          if (!u.padded(t, b)) std::copy_n(grad.data() + (t * B + b) * H, H, last.data() + b * W);
        grads.back() = Tensor<T>(std::move(last));
        return grads;
      });
}

template <class T>
void check_arguments(const StepKernel<T>& kernel, const CellWeights<T>& weights, const Tensor<T>& input,
                     const RecurrentState<T>& state, const std::vector<std::size_t>& lengths) {
  const std::string name = kernel.name;
  if (state.size() != kernel.states)
    throw Error(name + ": got " + std::to_string(state.size()) + " state tensors, expected " +
                std::to_string(kernel.states));
  const std::size_t batch = state[0].size(0), input_size = weights.weight_ih.size(1);
  if (input.dim() < 2 || input.size(-1) != input_size || input.numel() % (batch * input_size) != 0 ||
      input.numel() == 0)
    throw Error(name + ": input " + format_shape(input.shape()) + " is not [T, " + std::to_string(batch) + ", " +
                std::to_string(input_size) + "]");
  const std::size_t steps = input.numel() / (batch * input_size);
  if (!lengths.empty() && lengths.size() != batch)
    throw Error(name + ": lengths has " + std::to_string(lengths.size()) + " entries for a batch of " +
                std::to_string(batch));
  for (std::size_t length : lengths)
    if (length > steps)
      throw Error(name + ": a length of " + std::to_string(length) + " is out of range [0, " +
                  std::to_string(steps) + "]");
}

}  // namespace

template <class T>
UnrollResult<T> unroll_with_fused_steps(const StepKernel<T>& kernel, const CellWeights<T>& weights,
                                        const Tensor<T>& input, const RecurrentState<T>& state, bool reverse,
                                        const std::vector<std::size_t>& lengths) {
  check_arguments(kernel, weights, input, state, lengths);
  auto unroll = std::allocate_shared<Unroll<T>>(detail::NodeAllocator<Unroll<T>>());  // the tape's pooled blocks
  Unroll<T>& u = *unroll;
  u.kernel = &kernel;
  u.hidden = weights.weight_hh.size(1);
  u.batch = state[0].size(0);
  u.inputs = weights.weight_ih.size(1);
  u.steps = input.numel() / (u.batch * u.inputs);
  u.width = kernel.states * u.hidden;
  u.gate_width = kernel.gates * u.hidden;
  u.reverse = reverse;
  u.lengths = lengths;
  if (!lengths.empty()) u.shortest = *std::min_element(lengths.begin(), lengths.end());
  u.weight_hh = weights.weight_hh;
  if (blas::keep_transposed_weight(u.batch, u.gate_width, u.hidden)) {
    u.weight_hh_t = Tensor<T>(new_array<T>({u.hidden, u.gate_width}));
    blas::transpose_into(u.gate_width, u.hidden, u.weight_hh.data(), u.weight_hh_t.mutable_data());
  }
  if (!kernel.bias_hh_in_projection) u.bias_hh = weights.bias_hh;
  const std::size_t B = u.batch, H = u.hidden;
  u.saved = Tensor<T>(new_array<T>({u.steps * B, kernel.saved * H}));
  u.scratch = Tensor<T>(new_array<T>({B, kernel.scratch * H + 2 * u.gate_width + u.width}));

  // The initial state as a step node's value: h, or [h | c].
  Tensor<T> previous = kernel.states == 1 ? state[0] : concat(state, 1);
  project_input(u, weights, input);
  u.weight_hh_grad = GradientSink<T>(weights.weight_hh, "fused_weight_hh_grad");
  if (u.bias_hh.defined()) u.bias_hh_grad = GradientSink<T>(u.bias_hh, "fused_bias_hh_grad");
  u.sources = {input, weights.weight_ih, weights.weight_hh};
  if (weights.bias_ih.defined()) u.sources.insert(u.sources.end(), {weights.bias_ih, weights.bias_hh});
  u.first_token = 1 + u.sources.size();
  for (auto* sink : {&u.projected_grad, &u.weight_hh_grad, &u.bias_hh_grad})
    if (sink->active()) u.active_sinks.push_back(sink);

  xt::xarray<T> outputs = new_array<T>({u.steps, B, H});
  std::vector<Tensor<T>> step_nodes = new_input_list<T>(u.steps);  // the outputs node's inputs
  for (std::size_t s = 0; s < u.steps; ++s) {
    previous = record_step(unroll, s, previous, outputs.data());
    step_nodes.push_back(previous);
  }
  u.projected = Tensor<T>();  // read by the forward steps only
  u.weight_hh_t = Tensor<T>();

  UnrollResult<T> result;
  result.steps.resize(u.steps);
  for (std::size_t s = 0; s < u.steps; ++s) result.steps[u.time(s)] = step_nodes[s];
  const Tensor<T> last = step_nodes.back();
  result.output = record_outputs(unroll, std::move(outputs), std::move(step_nodes));
  if (kernel.states == 1)
    result.state = {last};
  else
    for (std::size_t k = 0; k < kernel.states; ++k) result.state.push_back(slice(last, 1, k * H, (k + 1) * H));
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                       \
  template struct StepKernel<T>;                                                                                   \
  template UnrollResult<T> unroll_with_fused_steps<T>(const StepKernel<T>&, const CellWeights<T>&, const Tensor<T>&, \
                                                      const RecurrentState<T>&, bool, const std::vector<std::size_t>&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
