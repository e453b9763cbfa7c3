// One direction of one layer as one function on the tape: the forward loop
// over a StepKernel, and its backward, the loop bptt/gated_bptt.cpp is.
#include "fused_steps.hpp"

#include <algorithm>
#include <memory>
#include <string>

#include "../autograd/blas.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/grad_mode.hpp"
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

// The unroll's sizes and its time order: steps s = 0..T-1 run at times
// t = time(s). Row blocks of [T·B, ·] buffers are indexed by time.
struct Layout {
  std::size_t steps = 0, batch = 0, hidden = 0, inputs = 0;
  std::size_t width = 0;       // S·H: a state's columns, [h] or [h | c]
  std::size_t gate_width = 0;  // G·H: columns of P and of δ
  bool reverse = false;
  std::vector<std::size_t> lengths;  // empty: no sequence is padded
  std::size_t shortest = none;       // steps t >= shortest have padded rows

  std::size_t time(std::size_t s) const { return reverse ? steps - 1 - s : s; }
  bool any_padded(std::size_t t) const { return t >= shortest; }
  bool padded(std::size_t t, std::size_t b) const { return t >= shortest && t >= lengths[b]; }
};

// Where the function's inputs are: the projection's sources first (linear_grads
// takes them as they stand), then W_hh, a b_hh that is not in P, and the
// initial state tensors.
struct InputSlots {
  std::size_t projection = 2;  // x, W_ih [, b_ih [, b_hh]]
  std::size_t weight_hh = 2, bias_hh = none, state = 3;
};

// What forward keeps for backward, held by the function's closure (and only
// by it: no struct is shared between records).
template <class T>
struct Saved {
  const StepKernel<T>* kernel = nullptr;
  Layout layout;
  InputSlots slots;
  Tensor<T> before;          // [T·B, W]: the state the step at time t starts from, block t
  Tensor<T> final_state;     // [B, W]: the state after the last step
  Tensor<T> saved;           // [T·B, saved·H]: the kernel's own
  // Each step's state [B, W] by time, values off the tape whose .grad the
  // backward sets to the state's total gradient (retain_step_grads).
  std::vector<Tensor<T>> reports;
  std::size_t first_step_output = none;  // the function's output of step s = 0 (time order), if kept

  // The state after the step at time t.
  const T* next(std::size_t t) const {
    const std::size_t after = layout.reverse ? t - 1 : t + 1;
    const bool last = layout.reverse ? t == 0 : t + 1 == layout.steps;
    return last ? final_state.data() : before.data() + after * layout.batch * layout.width;
  }
  const T* previous(std::size_t t) const { return before.data() + t * layout.batch * layout.width; }
  StepRows<T> rows(std::size_t t, const T* weight_hh, const T* weight_hh_t, const T* bias_hh, T* scratch) const {
    return {layout.batch,
            layout.hidden,
            weight_hh,
            weight_hh_t,
            bias_hh,
            previous(t),
            const_cast<T*>(saved.data()) + t * layout.batch * kernel->saved * layout.hidden,
            scratch};
  }
};

template <class T>
Layout layout_of(const StepKernel<T>& kernel, const CellWeights<T>& weights, const Tensor<T>& input,
                 const RecurrentState<T>& state, bool reverse, const std::vector<std::size_t>& lengths) {
  Layout l;
  l.hidden = weights.weight_hh.size(1);
  l.batch = state[0].size(0);
  l.inputs = weights.weight_ih.size(1);
  l.steps = input.numel() / (l.batch * l.inputs);
  l.width = kernel.states * l.hidden;
  l.gate_width = kernel.gates * l.hidden;
  l.reverse = reverse;
  l.lengths = lengths;
  if (!lengths.empty()) l.shortest = *std::min_element(lengths.begin(), lengths.end());
  return l;
}

template <class T>
std::vector<Tensor<T>> function_inputs(const StepKernel<T>& kernel, const CellWeights<T>& weights,
                                       const Tensor<T>& input, const RecurrentState<T>& state, InputSlots& slots) {
  std::vector<Tensor<T>> in{input, weights.weight_ih};
  if (weights.bias_ih.defined()) {
    in.push_back(weights.bias_ih);
    if (kernel.bias_hh_in_projection) in.push_back(weights.bias_hh);
  }
  slots.projection = in.size();
  slots.weight_hh = in.size();
  in.push_back(weights.weight_hh);
  if (weights.bias_hh.defined() && !kernel.bias_hh_in_projection) {
    slots.bias_hh = in.size();
    in.push_back(weights.bias_hh);
  }
  slots.state = in.size();
  in.insert(in.end(), state.begin(), state.end());
  return in;
}

// The forward loop. P = x W_ihᵀ + b for all T·B rows in one GEMM first
// (b = b_ih + b_hh when the kernel puts b_hh there).
template <class T>
void run_forward(Saved<T>& s, const std::vector<Tensor<T>>& in, T* outputs) {
  const Layout& l = s.layout;
  const StepKernel<T>& kernel = *s.kernel;
  const std::size_t B = l.batch, H = l.hidden, W = l.width, rows = l.steps * B;
  const bool has_bias = s.slots.projection > 2;
  xt::xarray<T> bias = new_array<T>({has_bias ? l.gate_width : 0});
  if (has_bias) {
    for (std::size_t j = 0; j < l.gate_width; ++j)
      bias.data()[j] = in[2].data()[j] + (s.slots.projection > 3 ? in[3].data()[j] : T(0));
  }
  xt::xarray<T> projected = new_array<T>({rows, l.gate_width});
  blas::linear_rows(rows, l.inputs, l.gate_width, in[0].data(), in[1].data(), has_bias ? bias.data() : nullptr,
                    projected.data());
  const Tensor<T>& weight_hh = in[s.slots.weight_hh];
  // Wᵀ once for every step, where that is faster (blas.hpp)
  const bool transposed = blas::keep_transposed_weight(B, l.gate_width, H);
  xt::xarray<T> weight_hh_t = new_array<T>({transposed ? H * l.gate_width : 0});
  if (transposed) blas::transpose_into(l.gate_width, H, weight_hh.data(), weight_hh_t.data());
  const T* bias_hh = s.slots.bias_hh == none ? nullptr : in[s.slots.bias_hh].data();
  xt::xarray<T> scratch = new_array<T>({B, std::max<std::size_t>(1, kernel.scratch * H)});
  T* start = s.before.mutable_data() + l.time(0) * B * W;  // the initial state as [h | c] rows
  for (std::size_t k = 0; k < kernel.states; ++k)
    for (std::size_t b = 0; b < B; ++b) std::copy_n(in[s.slots.state + k].data() + b * H, H, start + b * W + k * H);
  for (std::size_t step = 0; step < l.steps; ++step) {
    const std::size_t t = l.time(step);
    T* next = const_cast<T*>(s.next(t));
    const StepRows<T> r = s.rows(t, weight_hh.data(), transposed ? weight_hh_t.data() : nullptr, bias_hh,
                                 scratch.data());
    kernel.forward(r, projected.data() + t * B * l.gate_width, next);
    T* out = outputs + t * B * H;
    for (std::size_t b = 0; b < B; ++b) {
      if (l.padded(t, b)) {  // sequence b has ended: it keeps its state and outputs zeros
        std::copy_n(r.previous + b * W, W, next + b * W);
        std::fill_n(out + b * H, H, T(0));
      } else {
        std::copy_n(next + b * W, H, out + b * H);
      }
    }
  }
  for (auto* buffer : {&bias, &projected, &scratch, &weight_hh_t}) detail::recycle_array(*buffer);
}

// The backward loop over t from the last step to the first: dL/dP [T·B, G·H]
// local (its rows are the δ_t), dL/dW_hh = Σ_t δ_tᵀ h_{t-1} as one gradient
// product over all T·B rows, linear_grads for x, W_ih and the biases in P.
// output_grads: {output [T, B, H], the final state tensors, [each step's state]}.
template <class T>
class BackwardLoop {
 public:
  BackwardLoop(const Saved<T>& s, const std::vector<Tensor<T>>& in, const std::vector<Tensor<T>>& output_grads)
      : s_(s), l_(s.layout), in_(in), grads_(output_grads) {}

  Grads<T> run() {
    const std::size_t B = l_.batch, W = l_.width, GH = l_.gate_width;
    const bool separate = s_.kernel->separate_hidden_delta;
    const bool wants_whh = in_[s_.slots.weight_hh].requires_grad();
    delta_ = Tensor<T>(new_array<T>({l_.steps * B, GH}));
    if (separate) hidden_delta_ = Tensor<T>(new_array<T>({l_.steps * B, GH}));
    if (s_.slots.bias_hh != none && in_[s_.slots.bias_hh].requires_grad())
      bias_hh_grad_ = Tensor<T>(detail::filled_array<T>({GH}, T(0)));
    carry_ = final_state_grad();
    xt::xarray<T> previous = new_array<T>({B, W}), masked = new_array<T>({B, W});
    xt::xarray<T> scratch = new_array<T>({B, std::max<std::size_t>(1, s_.kernel->scratch * l_.hidden) + GH});
    for (std::size_t step = l_.steps; step-- > 0;) run_step(l_.time(step), previous.data(), masked.data(), scratch.data());
    for (auto* buffer : {&previous, &masked, &scratch}) detail::recycle_array(*buffer);
    return input_grads(wants_whh);
  }

 private:
  const Saved<T>& s_;
  const Layout& l_;
  const std::vector<Tensor<T>>& in_;
  const std::vector<Tensor<T>>& grads_;
  Tensor<T> delta_, hidden_delta_, bias_hh_grad_;
  xt::xarray<T> carry_;  // dL/d(the state after the step being run), [B, W]

  xt::xarray<T> final_state_grad() const {
    const std::size_t B = l_.batch, H = l_.hidden, W = l_.width;
    xt::xarray<T> g = detail::filled_array<T>({B, W}, T(0));
    for (std::size_t k = 0; k < s_.kernel->states; ++k)
      if (const Tensor<T>& gk = grads_[1 + k]; gk.defined())
        for (std::size_t b = 0; b < B; ++b) std::copy_n(gk.data() + b * H, H, g.data() + b * W + k * H);
    return g;
  }

  // carry_ += what reached the state after the step at time t from outside
  // the recursion: its rows of dL/d(output), and a kept step output's gradient.
  void add_direct(std::size_t t) {
    const std::size_t B = l_.batch, H = l_.hidden, W = l_.width;
    if (const Tensor<T>& g = grads_[0]; g.defined())
      for (std::size_t b = 0; b < B; ++b)
        if (!l_.padded(t, b))
          for (std::size_t j = 0; j < H; ++j) carry_.data()[b * W + j] += g.data()[(t * B + b) * H + j];
    if (s_.first_step_output == none) return;
    if (const Tensor<T>& g = grads_[s_.first_step_output + t]; g.defined())
      for (std::size_t i = 0; i < B * W; ++i) carry_.data()[i] += g.data()[i];
  }

  void run_step(std::size_t t, T* previous, T* masked, T* scratch) {
    const std::size_t B = l_.batch, W = l_.width, GH = l_.gate_width;
    add_direct(t);
    const T* g = carry_.data();
    if (l_.any_padded(t)) {  // a padded row's step did not happen: no gradient through it
      std::copy_n(g, B * W, masked);
      for (std::size_t b = 0; b < B; ++b)
        if (l_.padded(t, b)) std::fill_n(masked + b * W, W, T(0));
      g = masked;
    }
    const Tensor<T>& weight_hh = in_[s_.slots.weight_hh];
    const StepRows<T> r = s_.rows(t, weight_hh.data(), nullptr,
                                  s_.slots.bias_hh == none ? nullptr : in_[s_.slots.bias_hh].data(), scratch);
    if (!s_.reports.empty()) report(t, r, g);
    StepGrads<T> to;
    to.delta = delta_.mutable_data() + t * B * GH;
    to.hidden_delta = hidden_delta_.defined() ? hidden_delta_.mutable_data() + t * B * GH : to.delta;
    to.bias_hh = bias_hh_grad_.defined() ? bias_hh_grad_.mutable_data() : nullptr;
    to.previous = previous;
    s_.kernel->backward(r, s_.next(t), g, to);
    for (std::size_t b = 0; b < B && l_.any_padded(t); ++b)  // ... it carried the state unchanged
      if (l_.padded(t, b)) std::copy_n(carry_.data() + b * W, W, previous + b * W);
    std::copy_n(previous, B * W, carry_.data());
  }

  // retain_step_grads: the state's total gradient, with the paths inside the
  // step that reach a later state tensor through h (an LSTM's dL/dc_t).
  void report(std::size_t t, const StepRows<T>& r, const T* masked_grad) {
    xt::xarray<T> total = carry_;
    s_.kernel->add_inner_paths(r, masked_grad, total.data());
    Tensor<T>(s_.reports[t]).set_grad(Tensor<T>(std::move(total)));
  }

  Grads<T> input_grads(bool wants_whh) {
    const std::size_t B = l_.batch, H = l_.hidden, W = l_.width, rows = l_.steps * B;
    const std::vector<Tensor<T>> sources(in_.begin(), in_.begin() + static_cast<std::ptrdiff_t>(s_.slots.projection));
    Grads<T> grads = detail::linear_grads(rows, delta_, sources);
    grads.resize(in_.size());
    if (wants_whh) {
      Tensor<T> previous_h = s_.before;  // h_{t-1} by time: [T·B, H] (the h columns of [h | c])
      if (W != H) {
        previous_h = Tensor<T>(new_array<T>({rows, H}));
        for (std::size_t r = 0; r < rows; ++r) std::copy_n(s_.before.data() + r * W, H, previous_h.mutable_data() + r * H);
      }
      const Tensor<T>& deltas = hidden_delta_.defined() ? hidden_delta_ : delta_;
      grads.add_product({s_.slots.weight_hh, deltas, previous_h, true, false, l_.gate_width, H, rows});
    }
    if (bias_hh_grad_.defined()) grads[s_.slots.bias_hh] = bias_hh_grad_;
    for (std::size_t k = 0; k < s_.kernel->states; ++k) {
      if (!in_[s_.slots.state + k].requires_grad()) continue;
      xt::xarray<T> g = new_array<T>({B, H});
      for (std::size_t b = 0; b < B; ++b) std::copy_n(carry_.data() + b * W + k * H, H, g.data() + b * H);
      grads[s_.slots.state + k] = Tensor<T>(std::move(g));
    }
    return grads;
  }
};

// The unroll again as ops from the function's inputs (the kernel's as_ops),
// for the backward under create_graph: its gradients are then recorded.
template <class T>
std::vector<Tensor<T>> unroll_as_ops(const Saved<T>& s, const std::vector<Tensor<T>>& in) {
  const Layout& l = s.layout;
  const StepKernel<T>& kernel = *s.kernel;
  const std::size_t B = l.batch;
  CellWeights<T> weights{in[1], in[s.slots.weight_hh]};
  if (s.slots.projection > 2) weights.bias_ih = in[2];
  if (s.slots.projection > 3) weights.bias_hh = in[3];
  if (s.slots.bias_hh != none) weights.bias_hh = in[s.slots.bias_hh];
  const Tensor<T> projected = kernel.project(reshape(in[0], {l.steps * B, l.inputs}), weights);
  const std::vector<Tensor<T>> p = split(projected, std::vector<std::size_t>(l.steps, B), 0);
  RecurrentState<T> state(in.begin() + static_cast<std::ptrdiff_t>(s.slots.state), in.end());
  std::vector<Tensor<T>> outputs(l.steps);
  for (std::size_t step = 0; step < l.steps; ++step) {
    const std::size_t t = l.time(step);
    RecurrentState<T> next = kernel.as_ops(p[t], state, weights.weight_hh, weights.bias_hh);
    if (l.any_padded(t)) {
      xt::xarray<T> m = new_array<T>({B, 1});
      for (std::size_t b = 0; b < B; ++b) m(b, 0) = l.padded(t, b) ? T(0) : T(1);
      const Tensor<T> mask(std::move(m));
      for (std::size_t k = 0; k < next.size(); ++k) next[k] = where(mask, next[k], state[k]);
      outputs[t] = next[0] * mask;
    } else {
      outputs[t] = next[0];
    }
    state = std::move(next);
  }
  std::vector<Tensor<T>> result{reshape(concat(outputs, 0), {l.steps, B, l.hidden})};
  result.insert(result.end(), state.begin(), state.end());
  return result;
}

template <class T>
Grads<T> backward_as_ops(const Saved<T>& s, const std::vector<Tensor<T>>& in,
                         const std::vector<Tensor<T>>& output_grads) {
  const std::vector<Tensor<T>> outputs = unroll_as_ops(s, in);
  std::vector<Tensor<T>> reached, seeds;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!output_grads[k].defined()) continue;
    reached.push_back(outputs[k]);
    seeds.push_back(output_grads[k]);
  }
  if (s.first_step_output != none)
    for (std::size_t k = s.first_step_output; k < output_grads.size(); ++k)
      if (output_grads[k].defined())
        throw Error(std::string(s.kernel->name) +
                    ": a gradient through a step's state output under create_graph (use the layer's output)");
  if (!s.reports.empty()) {  // the per-step report, as values: the fast loop's
    NoGradGuard values_only;
    BackwardLoop<T>(s, in, output_grads).run();
  }
  if (reached.empty()) return Grads<T>(in.size());
  return detail::grad_up_to<T>(reached, in, seeds, /*create_graph=*/true);
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
                                        const std::vector<std::size_t>& lengths, bool keep_steps) {
  check_arguments(kernel, weights, input, state, lengths);
  auto saved = std::allocate_shared<Saved<T>>(detail::NodeAllocator<Saved<T>>());  // the tape's pooled blocks
  Saved<T>& s = *saved;
  s.kernel = &kernel;
  s.layout = layout_of(kernel, weights, input, state, reverse, lengths);
  const Layout& l = s.layout;
  const std::size_t B = l.batch, H = l.hidden, W = l.width;
  std::vector<Tensor<T>> in = function_inputs(kernel, weights, input, state, s.slots);
  s.before = Tensor<T>(new_array<T>({l.steps * B, W}));
  s.final_state = Tensor<T>(new_array<T>({B, W}));
  s.saved = Tensor<T>(new_array<T>({l.steps * B, std::max<std::size_t>(1, kernel.saved) * H}));
  std::vector<xt::xarray<T>> values;
  values.push_back(new_array<T>({l.steps, B, H}));
  run_forward(s, in, values[0].data());
  for (std::size_t k = 0; k < kernel.states; ++k) {
    values.push_back(new_array<T>({B, H}));
    for (std::size_t b = 0; b < B; ++b) std::copy_n(s.final_state.data() + b * W + k * H, H, values.back().data() + b * H);
  }
  if (keep_steps) {  // each step's state [B, W], by time: outputs whose gradient joins the recursion
    s.first_step_output = values.size();
    for (std::size_t t = 0; t < l.steps; ++t) {
      values.push_back(new_array<T>({B, W}));
      std::copy_n(s.next(t), B * W, values.back().data());
    }
  }
  std::vector<Tensor<T>> outputs = record_multi<T>(
      kernel.name, std::move(values), std::move(in),
      [saved](const auto& inputs, const auto& output_grads) { return BackwardLoop<T>(*saved, inputs, output_grads).run(); },
      [saved](const auto& inputs, const auto& output_grads) { return backward_as_ops(*saved, inputs, output_grads); });
  UnrollResult<T> result;
  result.output = outputs[0];
  result.state.assign(outputs.begin() + 1, outputs.begin() + 1 + static_cast<std::ptrdiff_t>(kernel.states));
  if (keep_steps) {
    result.steps.assign(outputs.begin() + static_cast<std::ptrdiff_t>(s.first_step_output), outputs.end());
    for (const Tensor<T>& step : result.steps) s.reports.push_back(step.detach());
    result.reports = s.reports;
  }
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                       \
  template struct StepKernel<T>;                                                                                   \
  template UnrollResult<T> unroll_with_fused_steps<T>(const StepKernel<T>&, const CellWeights<T>&, const Tensor<T>&, \
                                                      const RecurrentState<T>&, bool, const std::vector<std::size_t>&, \
                                                      bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
