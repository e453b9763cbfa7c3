#include "engine.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <string>
#include <unordered_map>
#include <utility>

#include "blas.hpp"
#include "grad_mode.hpp"
#include "node.hpp"
#include "ops.hpp"
#include "tape_memory.hpp"
#include "instantiate.hpp"

namespace rwd {

namespace {
thread_local bool grad_enabled = true;
thread_local bool anomaly_enabled = false;
// Set while an op's backward runs: its inner ops are not checked one by one, so
// that a NaN/Inf is reported by the engine naming the op whose backward made it
// (sqrt's backward at 0, not the 'div' inside it).
thread_local bool inside_backward = false;

// A vector whose capacity this thread keeps from one backward pass to the
// next (a pass's ready heap and PassLocal slots): a training loop's passes are
// alike, so after the first they allocate nothing. A nested pass (a
// checkpoint's recomputation) takes a vector of its own.
template <class V>
class PassVector {
 public:
  PassVector() {
    auto& spare = spares();
    if (spare.empty()) return;
    items = std::move(spare.back());
    spare.pop_back();
  }
  ~PassVector() {
    items.clear();
    if (spares().size() >= 8 || items.capacity() == 0) return;
    try {
      spares().push_back(std::move(items));
    } catch (...) {  // no memory for the spare list: the vector frees its capacity
    }
  }
  PassVector(const PassVector&) = delete;
  PassVector& operator=(const PassVector&) = delete;
  std::vector<V> items;

 private:
  static std::vector<std::vector<V>>& spares() {
    thread_local std::vector<std::vector<V>> spare;
    return spare;
  }
};

// The backward pass running on this thread (null outside one): its flags and
// the PassLocal state of its nodes, sorted by id. A pass nested in another's
// backward (a checkpoint's recomputation) has its own and restores the outer
// one at its end.
struct PassState {
  using Slot = std::pair<std::uint64_t, std::shared_ptr<void>>;
  bool create_graph = false;
  PassVector<Slot> locals;

  std::vector<Slot>::iterator lower_bound(std::uint64_t id) {
    return std::lower_bound(locals.items.begin(), locals.items.end(), id,
                            [](const Slot& slot, std::uint64_t key) { return slot.first < key; });
  }
};
thread_local PassState* running_pass = nullptr;
std::atomic<std::uint64_t> pass_local_ids{0};

struct PassScope {
  PassState state;
  PassState* previous = running_pass;
  explicit PassScope(bool create_graph) {
    state.create_graph = create_graph;
    running_pass = &state;
  }
  ~PassScope() { running_pass = previous; }
  PassScope(const PassScope&) = delete;
  PassScope& operator=(const PassScope&) = delete;
};

struct InsideBackward {
  bool previous = inside_backward;
  InsideBackward() { inside_backward = true; }
  ~InsideBackward() { inside_backward = previous; }
  InsideBackward(const InsideBackward&) = delete;
  InsideBackward& operator=(const InsideBackward&) = delete;
};

template <class T>
bool all_finite(const xt::xarray<T>& a) {
  return std::all_of(a.begin(), a.end(), [](T v) { return std::isfinite(v); });
}
}  // namespace

bool detail::pass_creates_graph() { return running_pass && running_pass->create_graph; }

std::uint64_t detail::new_pass_local_id() { return ++pass_local_ids; }

std::shared_ptr<void>& detail::pass_local_slot(std::uint64_t id) {
  if (!running_pass) throw Error("PassLocal: used outside a backward pass");
  auto it = running_pass->lower_bound(id);
  if (it == running_pass->locals.items.end() || it->first != id) it = running_pass->locals.items.insert(it, {id, nullptr});
  return it->second;
}

std::shared_ptr<void>* detail::find_pass_local_slot(std::uint64_t id) {
  if (!running_pass) return nullptr;
  auto it = running_pass->lower_bound(id);
  return it == running_pass->locals.items.end() || it->first != id ? nullptr : &it->second;
}

bool GradMode::is_enabled() { return grad_enabled; }
void GradMode::set_enabled(bool enabled) { grad_enabled = enabled; }
bool AnomalyMode::is_enabled() { return anomaly_enabled; }
void AnomalyMode::set_enabled(bool enabled) { anomaly_enabled = enabled; }

namespace {
template <class T>
void check_anomaly(const char* op, const xt::xarray<T>& value) {
  if (anomaly_enabled && !inside_backward && !all_finite(value))
    throw Error(std::string("anomaly: op '") + op + "' produced NaN or Inf in its output of shape " +
                format_shape(value.shape()));
}

template <class T>
bool any_requires_grad(const Tensor<T>* begin, const Tensor<T>* end) {
  return std::any_of(begin, end, [](const Tensor<T>& t) { return t.requires_grad(); });
}

template <class T>
void attach(Tensor<T>& out, const char* op, std::vector<Tensor<T>>&& inputs, BackwardFn<T>&& backward) {
  auto& node = detail::node_of(out);
  node.requires_grad = true;
  node.is_leaf = false;
  node.op = op;
  node.inputs = std::move(inputs);
  node.backward = std::move(backward);
}
}  // namespace

template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::vector<Tensor<T>> inputs, BackwardFn<T> backward) {
  check_anomaly(op, value);
  Tensor<T> out(std::move(value));
  if (grad_enabled && any_requires_grad(inputs.data(), inputs.data() + inputs.size()))
    attach(out, op, std::move(inputs), std::move(backward));
  return out;
}

template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::initializer_list<Tensor<T>> inputs,
                 BackwardFn<T> backward) {
  check_anomaly(op, value);
  Tensor<T> out(std::move(value));
  if (grad_enabled && any_requires_grad(inputs.begin(), inputs.end())) {
    std::vector<Tensor<T>> list = new_input_list<T>(inputs.size());  // a recycled list's capacity: no allocation
    list.assign(inputs.begin(), inputs.end());
    attach(out, op, std::move(list), std::move(backward));
  }
  return out;
}

// The op's node is a dummy scalar created before its outputs, each of which
// is a node whose only input is it: the engine runs every output's backward
// before the op's. An output's backward parks its gradient in this pass's
// slots and hands the op's node a token gradient (the first one schedules it).
template <class T>
std::vector<Tensor<T>> record_multi(const char* op, std::vector<xt::xarray<T>>&& values, std::vector<Tensor<T>> inputs,
                                    MultiBackwardFn<T> backward) {
  std::vector<Tensor<T>> outputs;
  outputs.reserve(values.size());
  for (auto& value : values) check_anomaly(op, value);
  if (!grad_enabled || !any_requires_grad(inputs.data(), inputs.data() + inputs.size())) {
    for (auto& value : values) outputs.emplace_back(std::move(value));
    return outputs;
  }
  struct Slots {
    std::size_t count;
    PassLocal<std::vector<Tensor<T>>> grads;  // this pass's gradient of each output
  };
  auto slots = std::allocate_shared<Slots>(detail::NodeAllocator<Slots>());
  slots->count = values.size();
  Tensor<T> node(detail::filled_array<T>({}, T(0)));
  attach<T>(node, op, std::move(inputs),
         [slots, backward = std::move(backward)](const auto& in, const auto&, const auto&) {
           std::vector<Tensor<T>> grads;  // the lists are the tape's recycled ones
           if (auto* parked = slots->grads.find()) std::swap(grads, *parked);
           if (grads.empty()) grads = new_input_list<T>(slots->count);
           grads.resize(slots->count);
           Grads<T> result = backward(in, grads);
           grads.clear();
           detail::recycle_input_list(grads);
           return result;
         });
  for (std::size_t i = 0; i < values.size(); ++i) {
    Tensor<T> out(std::move(values[i]));
    attach<T>(out, op, {node}, [slots, i](const auto&, const auto&, const Tensor<T>& grad) {
      std::vector<Tensor<T>>& parked = slots->grads.get();
      const bool first = parked.empty();
      if (first) {
        parked = new_input_list<T>(slots->count);
        parked.resize(slots->count);
      }
      parked[i] = grad;  // the engine hands each output its total gradient once per pass
      return Grads<T>{first ? Tensor<T>::scalar(T(0)) : Tensor<T>()};
    });
    outputs.push_back(std::move(out));
  }
  return outputs;
}

namespace {

// What one backward pass does with the gradient that reaches a tensor.
template <class T>
struct Pass {
  bool retain_graph;
  bool create_graph;
  // grad(): capture the gradient of these nodes instead of accumulating .grad
  std::unordered_map<const void*, Tensor<T>>* captured = nullptr;
  // grad_up_to: a captured tensor ends the walk (no hooks, its inputs not followed)
  bool stop_at_captured = false;
};

// slot += grad. The rule for writing in place is copy-on-write: without
// create_graph, the sum goes into the slot's own buffer only when no other
// Tensor shares it (one gradient tensor may have been handed to two inputs,
// as add's backward does, or kept as a retained .grad); otherwise a new
// tensor holds the sum.
template <class T>
bool writable(const Tensor<T>& slot, bool create_graph) {
  return !create_graph && slot.sole_handle() && !slot.requires_grad();
}

template <class T>
void accumulate(Tensor<T>& slot, const Tensor<T>& grad, bool create_graph) {
  if (!slot.defined()) {
    slot = grad;
  } else if (writable(slot, create_graph) && slot.shape() == grad.shape()) {
    // A plain loop: xtensor's += would first evaluate into a temporary array.
    T* sum = slot.mutable_data();
    const T* term = grad.data();
    for (std::size_t i = 0, n = slot.numel(); i < n; ++i) sum[i] += term[i];
  } else {
    slot = add(slot, grad);
  }
}

// k rows of `width` into out [k, width]: a copy when `source` is stored so
// ([k, width], rows_stored), else a transposing copy of a [width, k] matrix.
template <class T>
void pack_rows(const T* source, bool rows_stored, std::size_t k, std::size_t width, T* out) {
  if (rows_stored) {
    std::copy_n(source, k * width, out);
    return;
  }
  for (std::size_t r = 0; r < k; ++r)
    for (std::size_t c = 0; c < width; ++c) out[r * width + c] = source[c * k + r];
}

// The products that reached a tensor, added to its pending gradient: one GEMM
// (beta = 1 onto what is there) over all their k rows, packed side by side.
template <class T>
Tensor<T> fold_products(Tensor<T> pending, GradProducts<T>& products, bool create_graph) {
  if (products.empty()) return pending;
  const std::size_t m = products[0].m, n = products[0].n;
  std::size_t depth = 0;
  for (const auto& p : products) depth += p.k;
  Tensor<T> sum;
  T beta = 0;
  if (pending.defined() && writable(pending, create_graph)) {
    sum = std::move(pending);
    beta = 1;
  } else {
    sum = Tensor<T>(new_array<T>({m, n}));
    if (pending.defined()) {
      std::copy_n(pending.data(), m * n, sum.mutable_data());
      beta = 1;
    }
  }
  T* out = sum.mutable_data();
  if (products.size() == 1) {
    const GradProduct<T>& p = products[0];
    blas::gemm(p.transpose_a, p.transpose_b, m, n, p.k, T(1), p.a.data(), p.transpose_a ? m : p.k, p.b.data(),
               p.transpose_b ? p.k : n, beta, out, n);
  } else {
    // Row r of the packed A holds column r of op(a), row r of the packed B row r of op(b).
    xt::xarray<T> packed_a = new_array<T>({depth, m}), packed_b = new_array<T>({depth, n});
    std::size_t row = 0;
    for (const auto& p : products) {
      pack_rows(p.a.data(), p.transpose_a, p.k, m, packed_a.data() + row * m);
      pack_rows(p.b.data(), !p.transpose_b, p.k, n, packed_b.data() + row * n);
      row += p.k;
    }
    blas::gemm(true, false, m, n, depth, T(1), packed_a.data(), m, packed_b.data(), n, beta, out, n);
    detail::recycle_array(packed_a);
    detail::recycle_array(packed_b);
  }
  products.clear();
  return sum;
}

// The tensors with a pending gradient, latest-created first: a binary max-heap
// on the creation sequence, kept next to each tensor so comparisons read no node.
template <class T>
class ReadyQueue {
 public:
  bool empty() const { return heap().empty(); }
  void push(const Tensor<T>& tensor) {
    heap().push_back({detail::node_of(tensor).sequence, tensor});
    std::push_heap(heap().begin(), heap().end(), earlier);
  }
  Tensor<T> pop() {
    std::pop_heap(heap().begin(), heap().end(), earlier);
    Tensor<T> top = std::move(heap().back().tensor);
    heap().pop_back();
    return top;
  }
  // Drops every pending gradient (a pass that failed).
  void clear() {
    for (auto& entry : heap()) {
      detail::node_of(entry.tensor).pending_grad = Tensor<T>();
      detail::node_of(entry.tensor).pending_products.clear();
      detail::node_of(entry.tensor).pending_product_elements = 0;
    }
    heap().clear();
  }

 private:
  struct Entry {
    std::uint64_t sequence;
    Tensor<T> tensor;
  };
  static bool earlier(const Entry& a, const Entry& b) { return a.sequence < b.sequence; }
  std::vector<Entry>& heap() { return heap_.items; }
  const std::vector<Entry>& heap() const { return heap_.items; }
  PassVector<Entry> heap_;
};

// One backward pass: seeds the outputs, then takes the ready tensors latest
// first, each once its gradient is complete: folds it, runs its hooks, stores
// it (.grad or grad()'s capture) and runs its node's backward, delivering the
// results to the inputs.
template <class T>
class PassRun {
 public:
  PassRun(const Pass<T>& pass, ReadyQueue<T>& ready) : pass_(pass), ready_(ready) {}

  void run(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds) {
    seed(outputs, seeds);
    while (!ready_.empty()) {
      Tensor<T> tensor = ready_.pop();
      Tensor<T> grad = take_gradient(tensor);
      if (grad.defined()) run_node(tensor, grad);
    }
  }

 private:
  const Pass<T>& pass_;
  ReadyQueue<T>& ready_;

  void seed(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds) {
    if (seeds.size() != outputs.size())
      throw Error("backward: got " + std::to_string(seeds.size()) + " seed gradients for " +
                  std::to_string(outputs.size()) + " outputs");
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const Tensor<T>& out = outputs[i];
      if (!out.defined()) throw Error("backward: an output tensor is undefined");
      if (!out.requires_grad())
        throw Error("backward: the tensor does not require grad (no input of the computation has requires_grad set)");
      Tensor<T> seed = seeds[i];
      if (!seed.defined()) {
        if (out.numel() != 1)
          throw Error("backward: a seed gradient is needed for a non-scalar output of shape " +
                      format_shape(out.shape()));
        seed = ones<T>(out.shape());
      } else if (seed.shape() != out.shape()) {
        throw Error("backward: seed gradient has shape " + format_shape(seed.shape()) +
                    " whereas the output has shape " + format_shape(out.shape()));
      }
      deliver(out, seed);
    }
  }

  void deliver(const Tensor<T>& target, const Tensor<T>& grad) {
    auto& node = detail::node_of(target);
    if (!node.pending_grad.defined() && node.pending_products.empty()) ready_.push(target);
    accumulate(node.pending_grad, grad, pass_.create_graph);
  }

  // Products wait for the tensor's other gradients, so that they are folded
  // into one deep GEMM; but the operands they keep alive (a step's gradient
  // and input) are bounded to 4 times the gradient's own size: past that they
  // are folded now, so checkpointing keeps its O(√T) memory.
  void deliver(const Tensor<T>& target, GradProduct<T>&& product) {
    auto& node = detail::node_of(target);
    if (!node.pending_grad.defined() && node.pending_products.empty()) ready_.push(target);
    node.pending_product_elements += product.k * (product.m + product.n);
    node.pending_products.push_back(std::move(product));
    if (node.pending_product_elements > 4 * target.numel()) {
      node.pending_grad = fold_products(std::move(node.pending_grad), node.pending_products, pass_.create_graph);
      node.pending_product_elements = 0;
    }
  }

  // The tensor's total gradient after its hooks, stored where the pass keeps
  // it; undefined when the walk ends here (a leaf, or an input of grad_up_to).
  Tensor<T> take_gradient(const Tensor<T>& tensor) {
    auto& node = detail::node_of(tensor);
    Tensor<T> grad = fold_products(std::move(node.pending_grad), node.pending_products, pass_.create_graph);
    node.pending_grad = Tensor<T>();
    node.pending_product_elements = 0;
    if (pass_.stop_at_captured) {  // an input of grad_up_to: the walk ends here, the caller's pass goes on from it
      auto it = pass_.captured->find(tensor.id());
      if (it != pass_.captured->end()) {
        accumulate(it->second, grad, pass_.create_graph);
        return Tensor<T>();
      }
    }
    for (auto& hook : node.hooks) {
      Tensor<T> replaced = hook(grad);
      if (!replaced.defined()) continue;
      if (replaced.shape() != grad.shape())
        throw Error("backward: a hook on a tensor of shape " + format_shape(tensor.shape()) +
                    " returned a gradient of shape " + format_shape(replaced.shape()));
      grad = replaced;
    }
    if (pass_.captured) {
      auto it = pass_.captured->find(tensor.id());
      if (it != pass_.captured->end()) accumulate(it->second, grad, pass_.create_graph);
    } else if (node.is_leaf || node.retains_grad) {
      // .grad is a plain value unless the pass builds a graph of its own; it
      // never aliases a gradient that is still flowing elsewhere.
      if (pass_.create_graph || node.grad.defined())
        accumulate(node.grad, grad, pass_.create_graph);
      else
        node.grad = grad.sole_handle() && !grad.requires_grad() ? grad : grad.detach();
    }
    return node.is_leaf ? Tensor<T>() : grad;
  }

  void run_node(const Tensor<T>& tensor, const Tensor<T>& grad) {
    auto& node = detail::node_of(tensor);
    if (node.released)
      throw Error(std::string("backward: trying to backward through the graph a second time (the record of op '") +
                  node.op + "' was freed after the first backward); pass retain_graph=true the first time");
    Grads<T> grads;
    {
      InsideBackward scope;
      grads = node.backward(node.inputs, tensor, grad);
    }
    for (std::size_t i = 0; i < node.inputs.size() && i < grads.size(); ++i)
      if (node.inputs[i].requires_grad() && grads[i].defined()) deliver(node.inputs[i], checked(node, i, grads[i]));
    for (GradProduct<T>& product : grads.products()) deliver_product(node, std::move(product));
    if (!pass_.retain_graph) {
      // Free the record eagerly: the tape's memory goes as backward proceeds.
      node.released = true;
      node.backward = nullptr;
      node.inputs.clear();
    }
  }

  // The gradient a backward returned for input i, checked.
  static const Tensor<T>& checked(const detail::Node<T>& node, std::size_t i, const Tensor<T>& grad) {
    const Tensor<T>& input = node.inputs[i];
    if (grad.shape() != input.shape())
      throw Error(std::string("backward of '") + node.op + "': input " + std::to_string(i) + " has shape " +
                  format_shape(input.shape()) + " whereas its gradient has shape " + format_shape(grad.shape()));
    if (anomaly_enabled && !all_finite(grad.value()))
      throw Error(std::string("anomaly: backward of op '") + node.op + "' produced NaN or Inf in the gradient of input " +
                  std::to_string(i) + " (shape " + format_shape(input.shape()) + ")");
    return grad;
  }

  void deliver_product(const detail::Node<T>& node, GradProduct<T>&& product) {
    const std::size_t i = product.input;
    if (i >= node.inputs.size())
      throw Error(std::string("backward of '") + node.op + "': a gradient product for input " + std::to_string(i) +
                  " of " + std::to_string(node.inputs.size()));
    const Tensor<T>& input = node.inputs[i];
    if (!input.requires_grad()) return;
    if (input.shape() != Shape{product.m, product.n} || product.a.numel() != product.m * product.k ||
        product.b.numel() != product.k * product.n)
      throw Error(std::string("backward of '") + node.op + "': input " + std::to_string(i) + " has shape " +
                  format_shape(input.shape()) + " whereas its gradient product is [" + std::to_string(product.m) +
                  ", " + std::to_string(product.n) + "]");
    if (anomaly_enabled) {  // computed now, to name this op if it is not finite
      GradProducts<T> one{std::move(product)};
      deliver(input, checked(node, i, fold_products<T>(Tensor<T>(), one, false)));
      return;
    }
    deliver(input, std::move(product));
  }
};

// Runs one pass. If it throws (anomaly, bad hook, freed graph) the gradients
// still pending on the nodes are dropped, so a later pass starts clean.
template <class T>
void execute(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds, const Pass<T>& pass) {
  ReadyQueue<T> ready;
  PassScope scope(pass.create_graph);
  // Recording during the pass only when the backward itself is to be differentiated.
  GradModeGuard mode(pass.create_graph);
  try {
    PassRun<T>(pass, ready).run(outputs, seeds);
  } catch (...) {
    ready.clear();
    throw;
  }
}

}  // namespace

template <class T>
void run_backward(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds, bool retain_graph,
                  bool create_graph) {
  execute<T>(outputs, seeds, Pass<T>{retain_graph || create_graph, create_graph});
}

template <class T>
std::vector<Tensor<T>> grad(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                            const std::vector<Tensor<T>>& seeds, bool retain_graph, bool create_graph,
                            bool allow_unused) {
  std::unordered_map<const void*, Tensor<T>> captured;
  for (const auto& input : inputs) {
    if (!input.defined() || !input.requires_grad()) throw Error("grad: every input must require grad");
    captured.emplace(input.id(), Tensor<T>());
  }
  std::vector<Tensor<T>> all_seeds = seeds.empty() ? std::vector<Tensor<T>>(outputs.size()) : seeds;
  execute<T>(outputs, all_seeds, Pass<T>{retain_graph || create_graph, create_graph, &captured});
  std::vector<Tensor<T>> result;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor<T> g = captured.at(inputs[i].id());
    if (!g.defined()) {
      if (!allow_unused)
        throw Error("grad: input " + std::to_string(i) +
                    " was not used to compute the outputs (pass allow_unused=true to get zeros)");
      g = zeros<T>(inputs[i].shape());
    }
    result.push_back(g);
  }
  return result;
}

template <class T>
Grads<T> detail::grad_up_to(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& inputs,
                                          const std::vector<Tensor<T>>& seeds, bool create_graph) {
  std::unordered_map<const void*, Tensor<T>> captured;
  for (const auto& input : inputs)
    if (input.defined() && input.requires_grad()) captured.emplace(input.id(), Tensor<T>());
  Pass<T> pass{create_graph, create_graph, &captured};
  pass.stop_at_captured = true;
  execute<T>(outputs, seeds, pass);
  Grads<T> result;
  result.reserve(inputs.size());
  for (const auto& input : inputs) {  // a tensor listed twice gets its gradient once
    auto it = captured.find(input.id());
    result.push_back(it == captured.end() ? Tensor<T>() : std::exchange(it->second, Tensor<T>()));
  }
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                     \
  template Tensor<T> record<T>(const char*, xt::xarray<T>&&, std::vector<Tensor<T>>, BackwardFn<T>);              \
  template Tensor<T> record<T>(const char*, xt::xarray<T>&&, std::initializer_list<Tensor<T>>, BackwardFn<T>);    \
  template std::vector<Tensor<T>> record_multi<T>(const char*, std::vector<xt::xarray<T>>&&,                    \
                                                 std::vector<Tensor<T>>, MultiBackwardFn<T>);                  \
  template void run_backward<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&, bool, bool);        \
  template std::vector<Tensor<T>> grad<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&,           \
                                          const std::vector<Tensor<T>>&, bool, bool, bool);          \
  template Grads<T> detail::grad_up_to<T>(const std::vector<Tensor<T>>&,                          \
                                                        const std::vector<Tensor<T>>&,                          \
                                                        const std::vector<Tensor<T>>&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
