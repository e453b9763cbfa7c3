// The records behind a Tensor handle, and the engine's access to them. Not
// installed: users see Tensor only; the engine (engine.cpp, tensor.cpp,
// checkpoint.cpp, dot.cpp) and the tests that watch records die include it.
//
// A value and the function that made it are apart (PyTorch's TensorImpl and
// Node, torch/csrc/autograd/variable.h and function.h):
//   - TensorImpl: the value, .grad, flags, hooks, a version counter and, only
//     if an op produced it while recording, an edge {grad_fn, output_nr} to
//     that op's Function. A gradient, a buffer or a no-grad result is a
//     TensorImpl without a Function: an array and a few flags.
//   - Function: one recorded op: its name, its creation sequence (a
//     topological order of the tape), its inputs, how many outputs it has and
//     one backward that receives every output's gradient.
// Ownership runs output value -> Function -> input values, never back (a
// backward receives its output as an argument), so freeing the loss frees the
// tape. Pending gradient sums are the backward pass's (engine.cpp), not here.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine.hpp"
#include "tensor.hpp"

namespace rwd::detail {

template <class T>
struct Function {
  const char* op = "";
  std::uint64_t sequence = 0;  // creation order: a topological order of the tape
  std::uint32_t outputs = 1;
  bool released = false;  // backward ran without retain_graph: the record is gone
  // Σ of the inputs' versions when recorded: an input written in place since
  // (versions only grow) changes it, and backward refuses to run on it.
  std::uint64_t input_versions = 0;
  std::vector<Tensor<T>> inputs;
  BackwardFn<T> backward;             // one output: (inputs, output, grad)
  MultiBackwardFn<T> multi_backward;  // several: (inputs, output_grads)

  Function();
  ~Function();  // frees long input chains iteratively (an unrolled RNN is deep)
  Function(const Function&) = delete;
  Function& operator=(const Function&) = delete;
};

template <class T>
struct TensorImpl {
  xt::xarray<T> value;
  std::shared_ptr<Function<T>> grad_fn;  // null: a leaf, or a value made without recording
  std::uint32_t output_nr = 0;           // which of grad_fn's outputs this is
  bool requires_grad = false;
  bool retains_grad = false;
  std::uint64_t version = 0;  // bumped by every writable access (mutable_value, mutable_data)
  Tensor<T> grad;             // .grad(): accumulated for leaves and retained tensors
  std::vector<GradHook<T>> hooks;

  TensorImpl();
  explicit TensorImpl(xt::xarray<T>&& initial_value);
  ~TensorImpl();
  TensorImpl(const TensorImpl&) = delete;
  TensorImpl& operator=(const TensorImpl&) = delete;
};

std::uint64_t next_sequence();
// Functions (of either scalar type) alive on this thread.
std::int64_t live_functions();

struct NodeAccess {
  template <class T>
  static const std::shared_ptr<TensorImpl<T>>& get(const Tensor<T>& tensor) {
    return tensor.impl_;
  }
};

// The record a tensor handles (null for an undefined tensor), and the record itself.
template <class T>
const std::shared_ptr<TensorImpl<T>>& impl_ptr(const Tensor<T>& tensor) {
  return NodeAccess::get(tensor);
}
template <class T>
TensorImpl<T>& impl_of(const Tensor<T>& tensor) {
  return *NodeAccess::get(tensor);
}
// The function that made `tensor`, or null (a leaf, an undefined tensor).
template <class T>
Function<T>* function_of(const Tensor<T>& tensor) {
  const auto& impl = NodeAccess::get(tensor);
  return impl ? impl->grad_fn.get() : nullptr;
}

}  // namespace rwd::detail
