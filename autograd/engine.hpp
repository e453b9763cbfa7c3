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
#include <stdexcept>
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
// some input requires grad, attaches `inputs` and `backward` to it. This is the
// one mechanism every built-in op uses, and the way to add your own op (see
// README "Writing your own op").
template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::vector<Tensor<T>> inputs, BackwardFn<T> backward);
// The same for a fixed list of inputs, `record(op, value, {a, b}, ...)`: no
// input list is built at all when nothing is recorded (no grad needed).
template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::initializer_list<Tensor<T>> inputs,
                 BackwardFn<T> backward);

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
// A number identifying the backward pass running now (each pass gets a new
// one), for state that must not leak from an aborted pass into the next.
std::uint64_t current_backward_pass();
}  // namespace detail

}  // namespace rwd
