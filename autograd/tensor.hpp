// Tensor: a cheap-to-copy handle on a value of the autograd graph.
//
// A Tensor holds a value (an xtensor array), its gradient and flags and, only
// when an op produced it while recording, an edge to that op's record (the
// function: its inputs and its backward). Functions own their inputs, never
// their consumers, so the graph is acyclic in ownership and freeing the loss
// frees the whole tape. Gradients and values made without grad carry no
// function at all.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "inline_function.hpp"

namespace rwd {

// Shapes are small vectors (no heap allocation up to rank 4), as xtensor's.
using Shape = xt::svector<std::size_t, 4>;

// "[2, 3]" — every error message formats shapes this way; an array's shape too.
std::string format_shape(const Shape& shape);
template <class T>
std::string format_shape(const xt::xarray<T>& array) {
  return format_shape(Shape(array.shape().begin(), array.shape().end()));
}

// The multi-index of the element at row-major position `flat` in `shape`
// (numpy.unravel_index); a zero dimension gives index 0.
Shape unravel(std::size_t flat, const Shape& shape);

template <class T>
class Tensor;

// The state a recurrent model carries from step to step: h first, then any
// further tensors (an LSTM's c). Cells, layers, checkpointing and truncated
// BPTT all pass it so.
template <class T>
using RecurrentState = std::vector<Tensor<T>>;

namespace detail {
// The allocator of the tape's small, short-lived blocks: Nodes (through
// std::allocate_shared) and the gradient lists every backward returns. A
// training loop's steady state reuses the blocks its previous step freed
// instead of calling malloc.
template <class U>
struct NodeAllocator {
  using value_type = U;
  NodeAllocator() = default;
  template <class V>
  NodeAllocator(const NodeAllocator<V>&) noexcept {}
  U* allocate(std::size_t n) {
    static_assert(alignof(U) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "node blocks come from operator new");
    return static_cast<U*>(allocate_node_block(n * sizeof(U)));
  }
  void deallocate(U* block, std::size_t n) noexcept { free_node_block(block, n * sizeof(U)); }
  template <class V>
  bool operator==(const NodeAllocator<V>&) const noexcept {
    return true;
  }
};
}  // namespace detail

// A gradient left as a matrix product for the engine to compute:
// op(a) op(b), [m, n], with a read as [m, k] ([k, m] if transpose_a) and b as
// [k, n] ([n, k] if transpose_b), both contiguous. The engine folds every
// product that reaches one tensor in a pass into a single GEMM over all their
// k rows (a weight used at T steps: one GEMM of depth T·B, not T thin ones
// and T - 1 additions), added with beta = 1 to whatever else reached it.
template <class T>
struct GradProduct {
  std::size_t input = 0;  // the node's input whose gradient this is
  Tensor<T> a, b;
  bool transpose_a = false, transpose_b = false;
  std::size_t m = 0, n = 0, k = 0;
};
// A list of them, in the tape's recycled blocks.
template <class T>
using GradProducts = std::vector<GradProduct<T>, detail::NodeAllocator<GradProduct<T>>>;

// The gradients an op's backward returns, one per input (undefined where the
// input needs none). Build it as `Grads<T>{...}` or `Grads<T>(n)` (a vector
// whose blocks the tape recycles), or from a std::vector. An input's gradient
// may instead be given as a product (add_product): linear and matmul do so
// for their 2-D operands when the pass does not record its backward.
template <class T>
class Grads : public std::vector<Tensor<T>, detail::NodeAllocator<Tensor<T>>> {
  using Base = std::vector<Tensor<T>, detail::NodeAllocator<Tensor<T>>>;

 public:
  using Base::Base;
  Grads() = default;
  Grads(const std::vector<Tensor<T>>& grads) : Base(grads.begin(), grads.end()) {}  // NOLINT: implicit on purpose
  void add_product(GradProduct<T> product) { products_.push_back(std::move(product)); }
  GradProducts<T>& products() { return products_; }

 private:
  GradProducts<T> products_;
};

// backward(inputs, output, grad_output) -> one gradient per input.
// It receives the output as an argument instead of capturing it, so a node
// never owns itself (no cycle) and ops like tanh can reuse their result.
// It is written with Tensor ops, so under create_graph it is itself recorded.
// Any callable converts to it (a lambda, as a std::function would); it is
// move-only and keeps the closure without calling malloc (inline_function.hpp).
template <class T>
using BackwardFn = detail::InlineFunction<Grads<T>(const std::vector<Tensor<T>>& inputs, const Tensor<T>& output,
                                                   const Tensor<T>& grad)>;

// A function of several tensors, as gradcheck, hvp and jvp take it.
template <class T>
using Function = std::function<Tensor<T>(const std::vector<Tensor<T>>& inputs)>;

// A hook sees the gradient flowing into a tensor and may return a replacement
// (or an undefined Tensor to keep it).
template <class T>
using GradHook = std::function<Tensor<T>(const Tensor<T>& grad)>;

namespace detail {
template <class T>
struct TensorImpl;  // the record behind a Tensor: autograd/node.hpp, the engine's own header
struct NodeAccess;
}

template <class T>
class Tensor {
 public:
  using value_type = T;
  using Array = xt::xarray<T>;

  Tensor() = default;  // undefined: holds no value
  explicit Tensor(Array&& value, bool requires_grad = false);
  explicit Tensor(const Array& value, bool requires_grad = false);
  Tensor(std::initializer_list<T> values);                                 // 1-D
  Tensor(std::initializer_list<std::initializer_list<T>> rows);            // 2-D
  static Tensor scalar(T value, bool requires_grad = false);               // 0-D

  bool defined() const { return impl_ != nullptr; }
  const Array& value() const;
  // Writable value, for optimizers and initialisers. Each call counts as a
  // write (the tensor's version): a backward that needs the value as it was
  // when an op recorded it throws instead of using the changed one.
  Array& mutable_value();
  const T* data() const;
  T* mutable_data();

  const Shape& shape() const;  // valid while the tensor's value keeps its shape
  std::size_t dim() const;
  std::size_t numel() const;
  std::size_t size(int axis) const;  // negative axes count from the end
  T item() const;                    // the single element; throws otherwise

  // ---- autograd ----
  bool requires_grad() const;
  Tensor& requires_grad_(bool on = true);  // leaves only
  bool is_leaf() const;
  const char* op_name() const;  // "leaf" or the op that produced this tensor
  Tensor grad() const;          // accumulated gradient (undefined if none yet)
  void set_grad(const Tensor& grad);
  void zero_grad();             // drops the gradient
  Tensor detach() const;        // same value, cut from the graph
  void retain_grad();           // keep .grad() on an intermediate tensor
  void register_hook(GradHook<T> hook);

  // Backpropagate from this tensor. Without a seed the tensor must hold one
  // element and the seed is 1. Gradients accumulate (+=) into leaves.
  void backward(bool retain_graph = false, bool create_graph = false) const;
  void backward(const Tensor& seed, bool retain_graph = false, bool create_graph = false) const;

  // Identity of the underlying value (for maps and tests).
  const void* id() const { return impl_.get(); }
  // No other Tensor shares this one's value: the engine may then add into it
  // in place (copy-on-write for gradients, as PyTorch's AccumulateGrad).
  bool sole_handle() const { return impl_.use_count() == 1; }

 private:
  friend struct detail::NodeAccess;  // the engine's way in (autograd/node.hpp, not installed)
  detail::TensorImpl<T>& checked(const char* what) const;
  std::shared_ptr<detail::TensorImpl<T>> impl_;
};

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;

namespace detail {

// Debug counter: tensor values (of either scalar type) alive right now, counted per
// thread (created by this thread minus destroyed by this thread), so that it
// measures this thread's computation while other threads train their own
// models. A training loop whose count keeps growing is leaking its tape.
std::int64_t live_nodes();
// The highest live_nodes() since the last reset_peak_live_nodes() (which sets
// it to the count now): how much tape a computation held at its worst.
std::int64_t peak_live_nodes();
void reset_peak_live_nodes();

}  // namespace detail

// ---- creation --------------------------------------------------------------
template <class T>
Tensor<T> zeros(const Shape& shape, bool requires_grad = false);
template <class T>
Tensor<T> ones(const Shape& shape, bool requires_grad = false);
template <class T>
Tensor<T> full(const Shape& shape, T value, bool requires_grad = false);
template <class T>
Tensor<T> zeros_like(const Tensor<T>& like);
template <class T>
Tensor<T> ones_like(const Tensor<T>& like);
// Data in without xtensor: `values` in row-major order, as many as `shape`
// holds (else rwd::Error). from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {2, 3})
template <class T>
Tensor<T> from_vector(const std::vector<T>& values, const Shape& shape, bool requires_grad = false);
// from_vector({1.0, 2.0, 3.0}, {3}): T from the list
template <class T>
Tensor<T> from_vector(std::initializer_list<T> values, const Shape& shape, bool requires_grad = false) {
  return from_vector<T>(std::vector<T>(values), shape, requires_grad);
}

// A tensor's shape as format_shape prints it, or "undefined".
template <class T>
std::string format_shape(const Tensor<T>& tensor) {
  return tensor.defined() ? format_shape(tensor.shape()) : std::string("undefined");
}

}  // namespace rwd
