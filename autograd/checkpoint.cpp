#include "checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"
#include "instantiate.hpp"

namespace rwd {

namespace {

// Every tensor the recomputed graph reaches that requires grad and existed
// before the recomputation began must be one the checkpoint differentiates
// (`allowed`); any other would silently get no gradient, or have its own
// history backpropagated (and freed) by the nested pass.
template <class T>
void check_closure(const std::vector<Tensor<T>>& outputs, const std::unordered_set<const void*>& allowed,
                   std::uint64_t first_recomputed) {
  std::unordered_set<const void*> seen;
  std::vector<Tensor<T>> todo;
  for (const auto& out : outputs)
    if (out.requires_grad()) todo.push_back(out);
  while (!todo.empty()) {
    const Tensor<T> tensor = std::move(todo.back());
    todo.pop_back();
    if (allowed.count(tensor.id()) || !seen.insert(tensor.id()).second) continue;
    const detail::Function<T>* fn = detail::function_of(tensor);
    if (!fn || fn->sequence < first_recomputed) {
      const std::string what = fn ? std::string("made by '") + fn->op + "'" : std::string("a leaf");
      throw Error("checkpoint: the function uses a tensor of shape " + format_shape(tensor.shape()) + " (" + what +
                  ") that requires grad but is neither one of its inputs nor in params, so it would get no "
                  "gradient; list it in params (a leaf) or pass it as an input");
    }
    for (const auto& input : fn->inputs)
      if (input.defined() && input.requires_grad()) todo.push_back(input);
  }
}

template <class T>
struct Checkpoint {
  CheckpointFn<T> fn;
  std::size_t num_inputs;     // the node's inputs are fn's inputs, then the params
  std::vector<Shape> shapes;  // of fn's outputs
};

// The checkpoint node's backward: fn again on the same inputs, recording, then
// the gradients of its outputs (seeded with theirs) with respect to the inputs
// and params, through the recomputed graph only (grad_up_to stops at them; the
// engine's pass goes on from there). Under create_graph those gradients are
// recorded too, so a checkpoint can be differentiated twice.
template <class T>
Grads<T> recompute(const Checkpoint<T>& saved, const std::vector<Tensor<T>>& node_inputs,
                   const std::vector<Tensor<T>>& output_grads) {
  const std::vector<Tensor<T>> inputs(node_inputs.begin(),
                                      node_inputs.begin() + static_cast<std::ptrdiff_t>(saved.num_inputs));
  std::unordered_set<const void*> allowed;
  for (const auto& input : node_inputs)
    if (input.requires_grad()) allowed.insert(input.id());
  const std::uint64_t first_recomputed = detail::next_sequence();
  std::vector<Tensor<T>> outputs;
  {
    GradModeGuard recording(true);
    outputs = saved.fn(inputs);
  }
  if (outputs.size() != saved.shapes.size())
    throw Error("checkpoint: the function returned " + std::to_string(outputs.size()) +
                " tensors when run again in backward, " + std::to_string(saved.shapes.size()) +
                " the first time (it must compute the same thing)");
  check_closure(outputs, allowed, first_recomputed);
  std::vector<Tensor<T>> differentiable, seeds;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (outputs[i].shape() != saved.shapes[i])
      throw Error("checkpoint: output " + std::to_string(i) + " has shape " + format_shape(outputs[i].shape()) +
                  " when run again in backward, " + format_shape(saved.shapes[i]) + " the first time");
    if (!outputs[i].requires_grad() || !output_grads[i].defined()) continue;
    differentiable.push_back(outputs[i]);
    seeds.push_back(output_grads[i]);
  }
  if (differentiable.empty()) return Grads<T>(node_inputs.size());
  return detail::grad_up_to<T>(differentiable, node_inputs, seeds, detail::pass_creates_graph());
}

}  // namespace

template <class T>
std::vector<Tensor<T>> checkpoint(const CheckpointFn<T>& fn, const std::vector<Tensor<T>>& inputs,
                                  const std::vector<Tensor<T>>& params) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (!params[i].defined() || !params[i].is_leaf())
      throw Error("checkpoint: params[" + std::to_string(i) + "] is " +
                  (params[i].defined() ? "the result of '" + std::string(params[i].op_name()) + "'" : "undefined") +
                  ", expected a leaf tensor (pass a computed tensor as an input instead)");
  std::vector<Tensor<T>> node_inputs = inputs;
  node_inputs.insert(node_inputs.end(), params.begin(), params.end());
  const bool recording = GradMode::is_enabled() && std::any_of(node_inputs.begin(), node_inputs.end(),
                                                                [](const Tensor<T>& t) { return t.requires_grad(); });
  if (!recording) return fn(inputs);

  std::vector<Tensor<T>> outputs;
  {
    NoGradGuard no_grad;  // intermediates die as soon as they are used
    outputs = fn(inputs);
  }
  if (outputs.empty()) throw Error("checkpoint: the function returned no tensors, expected at least one");
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i].defined()) throw Error("checkpoint: the function's output " + std::to_string(i) + " is undefined");
  auto saved = std::make_shared<Checkpoint<T>>(Checkpoint<T>{fn, inputs.size(), {}});
  std::vector<xt::xarray<T>> values;  // fn's values, copied: an output may be one of the inputs
  for (const auto& out : outputs) {
    saved->shapes.push_back(out.shape());
    values.push_back(out.value());
  }
  return record_multi<T>("checkpoint", std::move(values), std::move(node_inputs),
                         [saved](const std::vector<Tensor<T>>& in, const std::vector<Tensor<T>>& grads) {
                           return recompute(*saved, in, grads);
                         });
}

// Segments [0, k), [k, 2k), ...: each one checkpoint over (its starting state,
// its inputs) that returns (its final state, the sum of its losses).
template <class T>
UnrollOutput<T> checkpointed_unroll(const StepFn<T>& step, const std::vector<Tensor<T>>& initial_state,
                                    const std::vector<Tensor<T>>& inputs_per_step,
                                    const std::vector<Tensor<T>>& params, std::size_t segment_length) {
  if (initial_state.empty())
    throw Error("checkpointed_unroll: the initial state is empty, expected at least one tensor");
  const std::size_t steps = inputs_per_step.size();
  const auto root = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(steps))));
  const std::size_t k = segment_length ? segment_length : std::max<std::size_t>(1, root);
  const std::size_t state_size = initial_state.size();
  // The segments' closures outlive this call (the backward runs them again).
  auto shared_step = std::make_shared<const StepFn<T>>(step);
  UnrollOutput<T> result{initial_state, Tensor<T>()};
  for (std::size_t begin = 0; begin < steps; begin += k) {
    const std::size_t end = std::min(steps, begin + k);
    std::vector<Tensor<T>> inputs = result.final_state;
    inputs.insert(inputs.end(), inputs_per_step.begin() + static_cast<std::ptrdiff_t>(begin),
                  inputs_per_step.begin() + static_cast<std::ptrdiff_t>(end));
    CheckpointFn<T> segment = [shared_step, state_size, begin](const std::vector<Tensor<T>>& in) {
      std::vector<Tensor<T>> state(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(state_size));
      Tensor<T> loss;
      for (std::size_t i = state_size; i < in.size(); ++i) {
        const std::size_t t = begin + i - state_size;
        UnrollStep<T> out = (*shared_step)(t, in[i], state);
        if (out.state.size() != state_size)
          throw Error("checkpointed_unroll: step " + std::to_string(t) + " returned " +
                      std::to_string(out.state.size()) + " state tensors, expected " + std::to_string(state_size));
        state = std::move(out.state);
        if (out.loss.defined()) loss = loss.defined() ? loss + out.loss : out.loss;
      }
      if (loss.defined()) state.push_back(loss);
      return state;
    };
    std::vector<Tensor<T>> outputs = checkpoint<T>(segment, inputs, params);
    if (outputs.size() > state_size) {
      result.loss = result.loss.defined() ? result.loss + outputs.back() : outputs.back();
      outputs.pop_back();
    }
    result.final_state = std::move(outputs);
  }
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                  \
  template std::vector<Tensor<T>> checkpoint<T>(const CheckpointFn<T>&, const std::vector<Tensor<T>>&,         \
                                                const std::vector<Tensor<T>>&);                                \
  template UnrollOutput<T> checkpointed_unroll<T>(const StepFn<T>&, const std::vector<Tensor<T>>&,             \
                                                  const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&, \
                                                  std::size_t);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
