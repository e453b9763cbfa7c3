// The tape: recording an op's result, and replaying the records in reverse.
//
// Every op result gets a sequence number when it is created, so creation order
// is a topological order of the graph. backward() pops nodes from a max-heap
// keyed by that number: a node is processed only after every consumer of it
// that the pass reaches, with no recursion however long the unrolled sequence.
// Gradients arriving at the same tensor from several uses are summed; for a
// weight shared by all timesteps that sum is backpropagation through time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "tensor.hpp"

namespace rwd {

// Thrown for every misuse the engine and the ops detect (bad shapes, freed
// graphs, NaN in anomaly mode); the message names the op and the shapes.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Records an op: wraps `value` as the op's result and, if recording is on and
// some input requires grad, attaches a function with `inputs` and `backward` to
// it. This is the one mechanism every built-in op uses, and the way to add
// your own op (docs/writing-an-op.md). T comes from `value`, an xt::xarray<T>.
template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::vector<Tensor<T>> inputs,
                 std::type_identity_t<BackwardFn<T>> backward);
// The same for a fixed list of inputs, `record(op, value, {a, b}, ...)`: no
// input list is built at all when nothing is recorded (no grad needed).
template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::initializer_list<Tensor<T>> inputs,
                 std::type_identity_t<BackwardFn<T>> backward);

namespace detail {
template <class V>
constexpr bool is_xarray = false;
template <class T>
constexpr bool is_xarray<xt::xarray<T>> = true;
bool pass_creates_graph();
}  // namespace detail

// A value that is not an xt::xarray (an xtensor expression, a scalar) leaves
// T unknown: this says so in one line instead of a page of candidates.
template <class V, class... Rest>
  requires(!detail::is_xarray<std::remove_cvref_t<V>>)
void record(const char*, V&&, Rest&&...) {
  static_assert(detail::is_xarray<std::remove_cvref_t<V>>,
                "rwd::record: the value must be an xt::xarray<T> (evaluate an expression into one first), "
                "or name the scalar type: rwd::record<T>(...)");
}

// An op whose backward has a fast path that writes plain arrays (not
// differentiable) declares it beside the same gradients written as Tensor ops:
// the engine runs `fast` in an ordinary backward pass and `recorded` in one
// that is itself differentiated (create_graph). Both have BackwardFn's
// signature; the choice is made here, once, for every such op.
template <class T, class Fast, class Recorded>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::initializer_list<Tensor<T>> inputs, Fast fast,
                 Recorded recorded) {
  return record<T>(op, std::move(value), inputs,
                   [fast = std::move(fast), recorded = std::move(recorded)](
                       const std::vector<Tensor<T>>& in, const Tensor<T>& out, const Tensor<T>& grad) -> Grads<T> {
                     return detail::pass_creates_graph() ? Grads<T>(recorded(in, out, grad)) : Grads<T>(fast(in, out, grad));
                   });
}
template <class T, class Fast, class Recorded>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::vector<Tensor<T>> inputs, Fast fast,
                 Recorded recorded) {
  return record<T>(op, std::move(value), std::move(inputs),
                   [fast = std::move(fast), recorded = std::move(recorded)](
                       const std::vector<Tensor<T>>& in, const Tensor<T>& out, const Tensor<T>& grad) -> Grads<T> {
                     return detail::pass_creates_graph() ? Grads<T>(recorded(in, out, grad)) : Grads<T>(fast(in, out, grad));
                   });
}

// An array of `shape` whose values are unspecified (xt::xarray::from_shape's),
// from this thread's cache of the buffers that destroyed tensors left: the
// array an op writes its value into before record() takes it, so that the
// steady state of a training loop does not call malloc.
template <class T>
xt::xarray<T> new_array(const Shape& shape);
// An empty list of inputs for record() with room for `capacity`, the capacity
// of a list a destroyed node of this thread left behind (likewise no malloc
// once warm).
template <class T>
std::vector<Tensor<T>> new_input_list(std::size_t capacity);

// An op with several outputs (split's parts, a fused layer's output and final
// states, a checkpointed function's results) is one function: each output is
// an edge {function, slot} to it, and backward(inputs, output_grads) runs once
// per pass, after every output the pass reaches has its total gradient, with
// output_grads[i] undefined where output i got none.
template <class T>
using MultiBackwardFn =
    detail::InlineFunction<Grads<T>(const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& output_grads)>;
template <class T>
std::vector<Tensor<T>> record_multi(const char* op, std::vector<xt::xarray<T>>&& values, std::vector<Tensor<T>> inputs,
                                    std::type_identity_t<MultiBackwardFn<T>> backward);
// With a fast backward and a recorded one, as record's.
template <class T, class Fast, class Recorded>
std::vector<Tensor<T>> record_multi(const char* op, std::vector<xt::xarray<T>>&& values, std::vector<Tensor<T>> inputs,
                                    Fast fast, Recorded recorded) {
  return record_multi<T>(op, std::move(values), std::move(inputs),
                         [fast = std::move(fast), recorded = std::move(recorded)](
                             const std::vector<Tensor<T>>& in, const std::vector<Tensor<T>>& grads) -> Grads<T> {
                           return detail::pass_creates_graph() ? Grads<T>(recorded(in, grads)) : Grads<T>(fast(in, grads));
                         });
}

// Backpropagates from `outputs`, seeded with `seeds` (one per output; an
// undefined seed means 1 for a one-element output). Gradients accumulate into
// the .grad() of leaves and of tensors that retain_grad().
template <class T>
void run_backward(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds, bool retain_graph,
                  bool create_graph);

// d(sum_k seeds_k · outputs_k)/d(inputs), returned instead of accumulated
// (torch.autograd.grad). With create_graph the result is itself recorded, so
// it can be differentiated again (Hessian-vector products). An input that the
// outputs do not depend on gets zeros when allow_unused, otherwise an error.
template <class T>
std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& seeds = {}, bool retain_graph = false,
                            bool create_graph = false, bool allow_unused = false);

namespace detail {
// Whether the backward pass running now records the ops of its backward
// functions (create_graph), so that its gradients can be differentiated
// again; false outside a pass. Ops choose by declaring both backwards (record
// with `fast` and `recorded`); a nested pass (checkpoint) reads it to record
// as its caller does.

// The gradients of `outputs` (seeded with `seeds`) with respect to `inputs`,
// through the part of the graph between them only: the pass stops at the
// inputs (it neither follows nor frees anything beyond them), so it may run
// inside another pass's backward on a graph recomputed from that node's
// inputs (checkpoints, fused steps under create_graph). An input the outputs
// do not reach gets an undefined gradient (as does a repeat of an input
// listed twice: the caller's pass adds each gradient once). With create_graph the gradients
// are recorded (and the graph is kept).
template <class T>
Grads<T> grad_up_to(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                                  const std::vector<Tensor<T>>& seeds, bool create_graph);

}  // namespace detail

}  // namespace rwd
