// GradientSink: many nodes writing their share of one tensor's gradient
// straight into a single buffer.
//
// A weight used at every one of T time steps would normally receive T
// full-size gradients, each allocated by a step's backward and then added by
// the engine. With a sink the steps add into one buffer in place (a BLAS GEMM
// with beta = 1, or a write into rows), and the engine delivers the buffer to
// the tensor once. The same holds for a [T·B, ·] tensor whose row blocks are
// read one step at a time: each step writes the gradient of its rows only.
//
// How it works on the tape: the sink records a small "collector" node whose
// input is the target tensor. Contributing nodes take `token()` as an input and
// are created after the sink, so backward (which runs nodes in reverse
// creation order) reaches the collector only after all of them; its backward
// hands the buffer to the target. A contributor returns `token_grad()` as its
// token's gradient, which schedules the collector on the first contribution of
// a pass and costs nothing afterwards.
//
// A sink may also stand for a value that is no tensor on the tape at all: its
// collector then maps the buffer onto the tensors that made the value (the
// fused RNN steps' input projection P = x W_ihᵀ + b, kept only while the steps
// run forward, hands dL/dP to x, W_ih and b this way).
//
// The buffer belongs to one backward pass (PassLocal: the engine drops it
// when the pass ends, so a failed pass leaves nothing behind). It is not
// differentiable: under create_graph (detail::pass_creates_graph()) a
// contributor's backward must return ordinary gradients instead.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <xtensor/xarray.hpp>

#include "engine.hpp"
#include "tensor.hpp"

namespace rwd {

template <class T>
class GradientSink {
 public:
  GradientSink() = default;
  // Records the collector for `target` (nothing to collect, inactive, if the
  // target needs no gradient or recording is off).
  explicit GradientSink(const Tensor<T>& target, const char* op = "gradient_sink");
  // Maps the summed buffer onto the tensors that made the value.
  using Collect = std::function<Grads<T>(xt::xarray<T>&& buffer, const std::vector<Tensor<T>>& sources)>;
  // Records a collector for a buffer of `shape` whose backward returns
  // collect(buffer, sources) (inactive if no source needs a gradient).
  GradientSink(std::vector<Tensor<T>> sources, const Shape& shape, Collect collect, const char* op);

  // Whether contributions are wanted.
  bool active() const { return state_ != nullptr; }
  // An input for every contributing node (undefined when inactive).
  const Tensor<T>& token() const { return token_; }
  // This pass's buffer, zeros of the target's shape on first use (left
  // uninitialised with zeroed = false, for contributors that together
  // overwrite every element in each pass).
  xt::xarray<T>& buffer(bool zeroed = true);
  // The token's gradient for a contributor's backward: a scalar the first time
  // in a pass (it schedules the collector), undefined afterwards.
  Tensor<T> token_grad();

 private:
  struct Pending {          // one pass's share
    Tensor<T> buffer;        // a tensor only for its node's recycling of the array
    bool filled = false;     // the buffer holds this pass's sum so far
    bool scheduled = false;  // the collector has been handed a token gradient
  };
  struct State {
    Shape shape;
    PassLocal<Pending> pending;
  };
  std::shared_ptr<State> state_;
  Tensor<T> token_;
};

}  // namespace rwd
