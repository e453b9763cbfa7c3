#include "tensor.hpp"

#include <algorithm>
#include <atomic>
#include <sstream>
#include <type_traits>

#include <xtensor/xbuilder.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "tape_memory.hpp"
#include "instantiate.hpp"

namespace rwd {

std::string format_shape(const Shape& shape) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

Shape unravel(std::size_t flat, const Shape& shape) {
  Shape index(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    index[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return index;
}

namespace detail {

std::uint64_t next_sequence() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

namespace {
// Per thread (created by this thread minus destroyed by it): they measure one
// thread's computation, not whatever other threads run.
thread_local std::int64_t live_value_count = 0;
thread_local std::int64_t peak_live_value_count = 0;
thread_local std::int64_t live_function_count = 0;

void count_new_value() { peak_live_value_count = std::max(peak_live_value_count, ++live_value_count); }

// Takes `fn` (the last owner) apart without recursion: a T-step unrolled RNN
// is a chain thousands of functions deep, and letting each shared_ptr destroy
// its inputs recursively would overflow the stack. The functions of inputs
// this one solely owns go onto an explicit worklist.
template <class T>
void release_chain(std::shared_ptr<Function<T>>&& fn) {
  std::vector<std::shared_ptr<Function<T>>> worklist;
  worklist.push_back(std::move(fn));
  while (!worklist.empty()) {
    std::shared_ptr<Function<T>> f = std::move(worklist.back());
    worklist.pop_back();
    for (auto& input : f->inputs) {
      std::shared_ptr<TensorImpl<T>> impl = std::move(NodeAccess::get(input));
      input = Tensor<T>();
      if (impl && impl.use_count() == 1 && impl->grad_fn && impl->grad_fn.use_count() == 1)
        worklist.push_back(std::move(impl->grad_fn));
      // impl is destroyed here with no function left: no recursion.
    }
    f->backward = nullptr;  // closures may hold tensors too
    f->multi_backward = nullptr;
  }
}
}  // namespace

std::int64_t live_nodes() { return live_value_count; }
std::int64_t peak_live_nodes() { return peak_live_value_count; }
void reset_peak_live_nodes() { peak_live_value_count = live_value_count; }
std::int64_t live_functions() { return live_function_count; }

template <class T>
Function<T>::Function() {
  ++live_function_count;
}
template <class T>
Function<T>::~Function() {
  inputs.clear();              // (an input that goes now takes its own chain apart)
  recycle_input_list(inputs);  // the list's capacity serves the next ops
  --live_function_count;
}

template <class T>
TensorImpl<T>::TensorImpl() {
  count_new_value();
}
template <class T>
TensorImpl<T>::TensorImpl(xt::xarray<T>&& initial_value) : value(std::move(initial_value)) {
  count_new_value();
}
template <class T>
TensorImpl<T>::~TensorImpl() {
  if (grad_fn && grad_fn.use_count() == 1) release_chain(std::move(grad_fn));
  recycle_array(value);  // the buffer serves the next ops
  --live_value_count;
}

template struct Function<float>;
template struct Function<double>;
template struct TensorImpl<float>;
template struct TensorImpl<double>;

}  // namespace detail

template <class T>
Tensor<T>::Tensor(Array&& value, bool requires_grad)
    : impl_(std::allocate_shared<detail::TensorImpl<T>>(detail::NodeAllocator<detail::TensorImpl<T>>(),
                                                        std::move(value))) {
  impl_->requires_grad = requires_grad;
}

template <class T>
Tensor<T>::Tensor(const Array& value, bool requires_grad) : Tensor(Array(value), requires_grad) {}

template <class T>
Tensor<T>::Tensor(std::initializer_list<T> values) : Tensor(new_array<T>({values.size()})) {
  std::copy(values.begin(), values.end(), impl_->value.begin());
}

template <class T>
Tensor<T>::Tensor(std::initializer_list<std::initializer_list<T>> rows) {
  const std::size_t cols = rows.size() ? rows.begin()->size() : 0;
  Array value = new_array<T>({rows.size(), cols});
  std::size_t r = 0;
  for (const auto& row : rows) {
    if (row.size() != cols)
      throw Error("Tensor: ragged initializer list: row " + std::to_string(r) + " has " +
                  std::to_string(row.size()) + " elements, expected " + std::to_string(cols));
    std::copy(row.begin(), row.end(), value.data() + r * cols);
    ++r;
  }
  *this = Tensor(std::move(value));
}

template <class T>
Tensor<T> Tensor<T>::scalar(T value, bool requires_grad) {
  return Tensor(detail::filled_array<T>({}, value), requires_grad);
}

template <class T>
detail::TensorImpl<T>& Tensor<T>::checked(const char* what) const {
  if (!impl_) throw Error(std::string(what) + ": the tensor is undefined");
  return *impl_;
}

template <class T>
const typename Tensor<T>::Array& Tensor<T>::value() const {
  return checked("value").value;
}
template <class T>
typename Tensor<T>::Array& Tensor<T>::mutable_value() {
  auto& impl = checked("mutable_value");
  ++impl.version;
  return impl.value;
}
template <class T>
const T* Tensor<T>::data() const {
  return checked("data").value.data();
}
template <class T>
T* Tensor<T>::mutable_data() {
  auto& impl = checked("mutable_data");
  ++impl.version;
  return impl.value.data();
}

template <class T>
const Shape& Tensor<T>::shape() const {
  static_assert(std::is_same_v<Shape, typename xt::xarray<T>::shape_type>,
                "Shape is xtensor's own shape type, so shape() can return a reference");
  return checked("shape").value.shape();
}
template <class T>
std::size_t Tensor<T>::dim() const {
  return checked("dim").value.dimension();
}
template <class T>
std::size_t Tensor<T>::numel() const {
  return checked("numel").value.size();
}
template <class T>
std::size_t Tensor<T>::size(int axis) const {
  const auto rank = static_cast<int>(dim());
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error("size: axis " + std::to_string(axis) + " is out of range for shape " + format_shape(shape()));
  return impl_->value.shape()[static_cast<std::size_t>(a)];
}
template <class T>
T Tensor<T>::item() const {
  if (numel() != 1)
    throw Error("item: tensor of shape " + format_shape(shape()) + " has " + std::to_string(numel()) +
                " elements, expected 1");
  return *impl_->value.data();
}

template <class T>
bool Tensor<T>::requires_grad() const {
  return impl_ && impl_->requires_grad;
}
template <class T>
Tensor<T>& Tensor<T>::requires_grad_(bool on) {
  auto& impl = checked("requires_grad_");
  if (impl.grad_fn)
    throw Error(std::string("requires_grad_: only leaf tensors can change requires_grad (this one is the result of '") +
                impl.grad_fn->op + "'); use detach() first");
  impl.requires_grad = on;
  return *this;
}
template <class T>
bool Tensor<T>::is_leaf() const {
  return !checked("is_leaf").grad_fn;
}
template <class T>
const char* Tensor<T>::op_name() const {
  const auto& impl = checked("op_name");
  return impl.grad_fn ? impl.grad_fn->op : "leaf";
}
template <class T>
Tensor<T> Tensor<T>::grad() const {
  return checked("grad").grad;
}
template <class T>
void Tensor<T>::set_grad(const Tensor& grad) {
  auto& impl = checked("set_grad");
  if (grad.defined() && grad.shape() != shape())
    throw Error("set_grad: gradient has shape " + format_shape(grad.shape()) + " whereas the tensor has shape " +
                format_shape(shape()));
  impl.grad = grad;
}
template <class T>
void Tensor<T>::zero_grad() {
  checked("zero_grad").grad = Tensor();
}
template <class T>
Tensor<T> Tensor<T>::detach() const {
  // Shares nothing mutable with the graph: a copy of the value, no record.
  return Tensor(checked("detach").value, false);
}
template <class T>
void Tensor<T>::retain_grad() {
  auto& impl = checked("retain_grad");
  if (!impl.requires_grad) throw Error("retain_grad: the tensor does not require grad");
  impl.retains_grad = true;
}
template <class T>
void Tensor<T>::register_hook(GradHook<T> hook) {
  auto& impl = checked("register_hook");
  if (!impl.requires_grad) throw Error("register_hook: the tensor does not require grad");
  impl.hooks.push_back(std::move(hook));
}

template <class T>
void Tensor<T>::backward(bool retain_graph, bool create_graph) const {
  backward(Tensor(), retain_graph, create_graph);
}
template <class T>
void Tensor<T>::backward(const Tensor& seed, bool retain_graph, bool create_graph) const {
  // One-element lists with a recycled capacity: a training step's backward() allocates nothing.
  std::vector<Tensor> outputs = new_input_list<T>(1), seeds = new_input_list<T>(1);
  outputs.push_back(*this);
  seeds.push_back(seed);
  run_backward<T>(outputs, seeds, retain_graph, create_graph);
  for (auto* list : {&outputs, &seeds}) {
    list->clear();
    detail::recycle_input_list(*list);
  }
}

template class Tensor<float>;
template class Tensor<double>;

template <class T>
Tensor<T> zeros(const Shape& shape, bool requires_grad) {
  return Tensor<T>(detail::filled_array<T>(shape, T(0)), requires_grad);
}
template <class T>
Tensor<T> ones(const Shape& shape, bool requires_grad) {
  return Tensor<T>(detail::filled_array<T>(shape, T(1)), requires_grad);
}
template <class T>
Tensor<T> full(const Shape& shape, T value, bool requires_grad) {
  return Tensor<T>(detail::filled_array<T>(shape, value), requires_grad);
}
template <class T>
Tensor<T> zeros_like(const Tensor<T>& like) {
  return zeros<T>(like.shape());
}
template <class T>
Tensor<T> ones_like(const Tensor<T>& like) {
  return ones<T>(like.shape());
}

#define REWIND_INSTANTIATE(T)                                        \
  template Tensor<T> zeros<T>(const Shape&, bool);                   \
  template Tensor<T> ones<T>(const Shape&, bool);                    \
  template Tensor<T> full<T>(const Shape&, T, bool);                 \
  template Tensor<T> zeros_like<T>(const Tensor<T>&);                \
  template Tensor<T> ones_like<T>(const Tensor<T>&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
