// The record behind a Tensor handle, and the engine's access to it. Not
// installed: users see Tensor only; the engine (engine.cpp, tensor.cpp,
// checkpoint.cpp, dot.cpp) and the tests that watch nodes die include it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tensor.hpp"

namespace rwd::detail {

// One recorded value. Leaves have no backward; op results hold their inputs
// and the backward closure until backward releases them.
template <class T>
struct Node {
  xt::xarray<T> value;
  bool requires_grad = false;
  bool is_leaf = true;
  bool released = false;  // backward ran without retain_graph: the record is gone
  bool retains_grad = false;
  const char* op = "leaf";
  std::uint64_t sequence = 0;  // creation order: a topological order of the tape
  std::vector<Tensor<T>> inputs;
  BackwardFn<T> backward;
  Tensor<T> grad;          // .grad(): accumulated for leaves and retained tensors
  // Used by the engine while a backward pass runs: the sum of the gradients
  // that reached this tensor so far, and the products (GradProduct) not yet
  // added to it.
  Tensor<T> pending_grad;
  GradProducts<T> pending_products;
  std::size_t pending_product_elements = 0;  // held by pending_products' operands: bounded by the engine
  std::vector<GradHook<T>> hooks;

  Node();
  explicit Node(xt::xarray<T>&& initial_value);
  ~Node();  // frees long input chains iteratively (an unrolled RNN is deep)
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
};

std::uint64_t next_sequence();

struct NodeAccess {
  template <class T>
  static const std::shared_ptr<Node<T>>& get(const Tensor<T>& tensor) {
    return tensor.node_;
  }
};

// The node a tensor handles (null for an undefined tensor), and the node itself.
template <class T>
const std::shared_ptr<Node<T>>& node_ptr(const Tensor<T>& tensor) {
  return NodeAccess::get(tensor);
}
template <class T>
Node<T>& node_of(const Tensor<T>& tensor) {
  return *NodeAccess::get(tensor);
}

}  // namespace rwd::detail
