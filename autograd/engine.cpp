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
// next (a pass's pending entries, slots and ready heap): a training loop's passes are
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
    // A pass over a huge tape does not pin its peak for the rest of the thread's life.
    if (spares().size() >= 8 || items.capacity() == 0 || items.capacity() * sizeof(V) > (std::size_t(4) << 20)) return;
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

// The backward pass running on this thread (null outside one): its flags. A
// pass nested in another's backward (a checkpoint's recomputation) has its own
// and restores the outer one at its end.
struct PassState {
  bool create_graph = false;
};
thread_local PassState* running_pass = nullptr;

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

// The function of an op recorded now, from the tape's pooled blocks.
template <class T>
std::shared_ptr<detail::Function<T>> new_function(const char* op, std::vector<Tensor<T>>&& inputs) {
  auto fn = std::allocate_shared<detail::Function<T>>(detail::NodeAllocator<detail::Function<T>>());
  fn->op = op;
  fn->sequence = detail::next_sequence();
  for (const auto& input : inputs)
    if (input.defined()) fn->input_versions += detail::impl_of(input).version;
  fn->inputs = std::move(inputs);
  return fn;
}

// out becomes output `slot` of fn.
template <class T>
void link(Tensor<T>& out, std::shared_ptr<detail::Function<T>> fn, std::uint32_t slot) {
  auto& impl = detail::impl_of(out);
  impl.requires_grad = true;
  impl.grad_fn = std::move(fn);
  impl.output_nr = slot;
}

template <class T>
void attach(Tensor<T>& out, const char* op, std::vector<Tensor<T>>&& inputs, BackwardFn<T>&& backward) {
  auto fn = new_function<T>(op, std::move(inputs));
  fn->backward = std::move(backward);
  link(out, std::move(fn), 0);
}
}  // namespace

template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::vector<Tensor<T>> inputs,
                 std::type_identity_t<BackwardFn<T>> backward) {
  check_anomaly(op, value);
  Tensor<T> out(std::move(value));
  if (grad_enabled && any_requires_grad(inputs.data(), inputs.data() + inputs.size()))
    attach(out, op, std::move(inputs), std::move(backward));
  return out;
}

template <class T>
Tensor<T> record(const char* op, xt::xarray<T>&& value, std::initializer_list<Tensor<T>> inputs,
                 std::type_identity_t<BackwardFn<T>> backward) {
  check_anomaly(op, value);
  Tensor<T> out(std::move(value));
  if (grad_enabled && any_requires_grad(inputs.begin(), inputs.end())) {
    std::vector<Tensor<T>> list = new_input_list<T>(inputs.size());  // a recycled list's capacity: no allocation
    list.assign(inputs.begin(), inputs.end());
    attach(out, op, std::move(list), std::move(backward));
  }
  return out;
}

// One function, each output an edge {function, slot} to it: the engine runs
// the backward once, with every output's total gradient.
template <class T>
std::vector<Tensor<T>> record_multi(const char* op, std::vector<xt::xarray<T>>&& values, std::vector<Tensor<T>> inputs,
                                    std::type_identity_t<MultiBackwardFn<T>> backward) {
  std::vector<Tensor<T>> outputs;
  outputs.reserve(values.size());
  for (auto& value : values) check_anomaly(op, value);
  for (auto& value : values) outputs.emplace_back(std::move(value));
  if (!grad_enabled || !any_requires_grad(inputs.data(), inputs.data() + inputs.size())) return outputs;
  auto fn = new_function<T>(op, std::move(inputs));
  fn->outputs = static_cast<std::uint32_t>(outputs.size());
  fn->multi_backward = std::move(backward);
  for (std::size_t i = 0; i < outputs.size(); ++i) link(outputs[i], fn, static_cast<std::uint32_t>(i));
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

// Where a pass keeps what reached one output of a function (or one tensor
// where the walk ends): the gradients summed so far and the products not yet
// folded into them.
template <class T>
struct PendingSlot {
  Tensor<T> tensor;  // the output itself: it keeps its function alive until that runs
  Tensor<T> grad;
  GradProducts<T> products;
  std::size_t product_elements = 0;  // held by products' operands: bounded (deliver)
};

// A function the pass has reached, with one slot per output; or, without a
// function, a tensor where the walk ends (a leaf, or an input of grad_up_to),
// whose one slot is finished when the pass has run every function.
template <class T>
struct PendingEntry {
  detail::Function<T>* function;
  std::size_t first_slot;
};

// Pointer -> index, open addressing in a reused table: the pass's map from a
// function (or a terminal tensor) to its entry, without a heap block per entry.
class PointerIndex {
 public:
  PointerIndex() {
    std::size_t cells = 64;  // a power of two; as many as the reused table holds
    while (2 * cells <= table_.items.capacity()) cells *= 2;
    table_.items.assign(cells, {nullptr, 0});
  }
  // The index stored for key; if none, stores `fresh` and says it was inserted.
  std::pair<std::size_t, bool> find_or_insert(const void* key, std::size_t fresh) {
    if (2 * (size_ + 1) > table_.items.size()) grow();
    std::size_t i = probe(key);
    if (table_.items[i].first == key) return {table_.items[i].second, false};
    table_.items[i] = {key, fresh};
    ++size_;
    return {fresh, true};
  }

 private:
  using Cell = std::pair<const void*, std::size_t>;
  PassVector<Cell> table_;
  std::size_t size_ = 0;

  std::size_t probe(const void* key) const {
    const std::size_t mask = table_.items.size() - 1;
    std::uint64_t hash = (reinterpret_cast<std::uintptr_t>(key) >> 4) * 0x9E3779B97F4A7C15ull;
    std::size_t i = static_cast<std::size_t>(hash ^ (hash >> 32)) & mask;
    while (table_.items[i].first && table_.items[i].first != key) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<Cell> old(2 * table_.items.size(), Cell{nullptr, 0});
    std::swap(old, table_.items);
    for (const Cell& cell : old)
      if (cell.first) table_.items[probe(cell.first)] = cell;
  }
};

// One backward pass: seeds the outputs, then runs the functions it reaches
// latest-created first (a max-heap on their sequence), each once every
// consumer has delivered its gradient: folds each output's gradient, runs its
// hooks, keeps it (.grad of a retained tensor, or grad()'s capture) and runs
// the backward, delivering the results to the inputs. The tensors where the
// walk ends (leaves) are finished last. Everything pending is this object's:
// a pass that throws leaves nothing behind.
template <class T>
class PassRun {
 public:
  explicit PassRun(const Pass<T>& pass) : pass_(pass) {}

  void run(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds) {
    seed(outputs, seeds);
    while (!ready_.items.empty()) {
      std::pop_heap(ready_.items.begin(), ready_.items.end());
      const std::size_t entry = ready_.items.back().second;
      ready_.items.pop_back();
      run_function(entries_.items[entry]);
    }
    for (const PendingEntry<T>& entry : entries_.items)
      if (!entry.function) finish_terminal(slots_.items[entry.first_slot]);
  }

 private:
  const Pass<T>& pass_;
  PassVector<PendingEntry<T>> entries_;
  PassVector<PendingSlot<T>> slots_;
  PassVector<std::pair<std::uint64_t, std::size_t>> ready_;  // (sequence, entry) of the functions reached
  PointerIndex index_;

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

  // The slot of `target` in this pass: its function's output slot, or its
  // own where the walk ends there.
  std::size_t slot_of(const Tensor<T>& target) {
    const auto& impl = detail::impl_of(target);
    detail::Function<T>* fn = impl.grad_fn.get();
    if (fn && pass_.stop_at_captured && pass_.captured->count(target.id())) fn = nullptr;
    const void* key = fn ? static_cast<const void*>(fn) : target.id();
    const auto [entry, inserted] = index_.find_or_insert(key, entries_.items.size());
    if (inserted) {
      entries_.items.push_back({fn, slots_.items.size()});
      slots_.items.resize(slots_.items.size() + (fn ? fn->outputs : 1));
      if (fn) {
        ready_.items.emplace_back(fn->sequence, entry);
        std::push_heap(ready_.items.begin(), ready_.items.end());
      }
    }
    const std::size_t slot = entries_.items[entry].first_slot + (fn ? impl.output_nr : 0);
    if (!slots_.items[slot].tensor.defined()) slots_.items[slot].tensor = target;
    return slot;
  }

  void deliver(const Tensor<T>& target, const Tensor<T>& grad) {
    PendingSlot<T>& slot = slots_.items[slot_of(target)];
    accumulate(slot.grad, grad, pass_.create_graph);
  }

  // Products wait for the tensor's other gradients, so that they are folded
  // into one deep GEMM; but the operands they keep alive (a step's gradient
  // and input) are bounded to 4 times the gradient's own size: past that they
  // are folded now, so checkpointing keeps its O(√T) memory.
  void deliver(const Tensor<T>& target, GradProduct<T>&& product) {
    PendingSlot<T>& slot = slots_.items[slot_of(target)];
    slot.product_elements += product.k * (product.m + product.n);
    slot.products.push_back(std::move(product));
    if (slot.product_elements > 4 * target.numel()) {
      slot.grad = fold_products(std::move(slot.grad), slot.products, pass_.create_graph);
      slot.product_elements = 0;
    }
  }

  // The slot's total gradient, folded; the slot is left empty.
  Tensor<T> take(PendingSlot<T>& slot) {
    Tensor<T> grad = fold_products(std::move(slot.grad), slot.products, pass_.create_graph);
    slot.grad = Tensor<T>();
    slot.product_elements = 0;
    return grad;
  }

  // `grad` after the tensor's hooks, kept where the pass keeps it: grad()'s
  // capture, or .grad for a leaf or a retained tensor.
  Tensor<T> finish(const Tensor<T>& tensor, Tensor<T> grad) {
    auto& impl = detail::impl_of(tensor);
    for (auto& hook : impl.hooks) {
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
    } else if (!impl.grad_fn || impl.retains_grad) {
      // .grad is a plain value unless the pass builds a graph of its own; it
      // never aliases a gradient that is still flowing elsewhere.
      if (pass_.create_graph || impl.grad.defined())
        accumulate(impl.grad, grad, pass_.create_graph);
      else
        impl.grad = grad.sole_handle() && !grad.requires_grad() ? grad : grad.detach();
    }
    return grad;
  }

  // A tensor where the walk ends: an input of grad_up_to hands its gradient to
  // the caller's pass as it is (no hooks); a leaf's goes through finish.
  void finish_terminal(PendingSlot<T>& slot) {
    Tensor<T> tensor = std::move(slot.tensor);
    Tensor<T> grad = take(slot);
    if (pass_.stop_at_captured) {
      auto it = pass_.captured->find(tensor.id());
      if (it != pass_.captured->end()) {
        accumulate(it->second, grad, pass_.create_graph);
        return;
      }
    }
    finish(tensor, std::move(grad));
  }

  void run_function(const PendingEntry<T> entry) {
    detail::Function<T>& fn = *entry.function;
    // The outputs the pass reached, held here: they keep fn alive until it has run.
    std::vector<Tensor<T>> outputs = new_input_list<T>(fn.outputs), grads = new_input_list<T>(fn.outputs);
    for (std::size_t k = 0; k < fn.outputs; ++k) {
      PendingSlot<T>& slot = slots_.items[entry.first_slot + k];
      outputs.push_back(std::move(slot.tensor));
      grads.push_back(outputs.back().defined() ? take(slot) : Tensor<T>());
      if (outputs.back().defined()) grads.back() = finish(outputs.back(), std::move(grads.back()));
    }
    Grads<T> input_grads = call_backward(fn, outputs, grads);
    for (std::size_t i = 0; i < fn.inputs.size(); ++i)
      if (fn.inputs[i].requires_grad() && input_grads[i].defined())
        deliver(fn.inputs[i], checked(fn, i, input_grads[i]));
    for (GradProduct<T>& product : input_grads.products()) deliver_product(fn, std::move(product));
    if (!pass_.retain_graph) {
      // Free the record eagerly: the tape's memory goes as backward proceeds.
      fn.released = true;
      fn.backward = nullptr;
      fn.multi_backward = nullptr;
      fn.inputs.clear();
    }
    for (auto* list : {&outputs, &grads}) {
      list->clear();
      detail::recycle_input_list(*list);
    }
  }

  static Grads<T> call_backward(detail::Function<T>& fn, const std::vector<Tensor<T>>& outputs,
                                const std::vector<Tensor<T>>& grads) {
    if (fn.released)
      throw Error(std::string("backward: trying to backward through the graph a second time (the record of op '") +
                  fn.op + "' was freed after the first backward); pass retain_graph=true the first time");
    check_versions(fn);
    Grads<T> input_grads;
    {
      InsideBackward scope;
      input_grads = fn.outputs == 1 && fn.backward ? fn.backward(fn.inputs, outputs[0], grads[0])
                                                   : fn.multi_backward(fn.inputs, grads);
    }
    if (input_grads.size() != fn.inputs.size())
      throw Error(std::string("backward of '") + fn.op + "' returned an incorrect number of gradients (expected " +
                  std::to_string(fn.inputs.size()) + ", got " + std::to_string(input_grads.size()) + ")");
    return input_grads;
  }

  // An input written in place after the op recorded it: its backward would
  // read the new value (PyTorch: "modified by an inplace operation").
  static void check_versions(const detail::Function<T>& fn) {
    std::uint64_t versions = 0;
    for (const auto& input : fn.inputs)
      if (input.defined()) versions += detail::impl_of(input).version;
    if (versions == fn.input_versions) return;
    std::string shapes;
    for (const auto& input : fn.inputs) shapes += (shapes.empty() ? "" : ", ") + format_shape(input);
    throw Error(std::string("backward of '") + fn.op +
                "': one of its inputs was modified in place (mutable_value/mutable_data) after the op recorded it "
                "(input shapes " + shapes + "); recompute the forward after changing a tensor, or change a copy");
  }

  // The gradient a backward returned for input i, checked.
  static const Tensor<T>& checked(const detail::Function<T>& fn, std::size_t i, const Tensor<T>& grad) {
    const Tensor<T>& input = fn.inputs[i];
    if (grad.shape() != input.shape())
      throw Error(std::string("backward of '") + fn.op + "': input " + std::to_string(i) + " has shape " +
                  format_shape(input.shape()) + " whereas its gradient has shape " + format_shape(grad.shape()));
    if (anomaly_enabled && !all_finite(grad.value()))
      throw Error(std::string("anomaly: backward of op '") + fn.op + "' produced NaN or Inf in the gradient of input " +
                  std::to_string(i) + " (shape " + format_shape(input.shape()) + ")");
    return grad;
  }

  void deliver_product(const detail::Function<T>& fn, GradProduct<T>&& product) {
    const std::size_t i = product.input;
    if (i >= fn.inputs.size())
      throw Error(std::string("backward of '") + fn.op + "': a gradient product for input " + std::to_string(i) +
                  " of " + std::to_string(fn.inputs.size()));
    const Tensor<T>& input = fn.inputs[i];
    if (!input.requires_grad()) return;
    if (input.shape() != Shape{product.m, product.n} || product.a.numel() != product.m * product.k ||
        product.b.numel() != product.k * product.n)
      throw Error(std::string("backward of '") + fn.op + "': input " + std::to_string(i) + " has shape " +
                  format_shape(input.shape()) + " whereas its gradient product is [" + std::to_string(product.m) +
                  ", " + std::to_string(product.n) + "]");
    if (anomaly_enabled) {  // computed now, to name this op if it is not finite
      GradProducts<T> one{std::move(product)};
      deliver(input, checked(fn, i, fold_products<T>(Tensor<T>(), one, false)));
      return;
    }
    deliver(input, std::move(product));
  }
};

// Runs one pass. If it throws (anomaly, bad hook, freed graph) the gradients
// still pending go with the PassRun, so a later pass starts clean.
template <class T>
void execute(const std::vector<Tensor<T>>& outputs, const std::vector<Tensor<T>>& seeds, const Pass<T>& pass) {
  PassScope scope(pass.create_graph);
  // Recording during the pass only when the backward itself is to be differentiated.
  GradModeGuard mode(pass.create_graph);
  PassRun<T>(pass).run(outputs, seeds);
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
  template Tensor<T> record<T>(const char*, xt::xarray<T>&&, std::vector<Tensor<T>>,                            \
                               std::type_identity_t<BackwardFn<T>>);                                              \
  template Tensor<T> record<T>(const char*, xt::xarray<T>&&, std::initializer_list<Tensor<T>>,                    \
                               std::type_identity_t<BackwardFn<T>>);                                              \
  template std::vector<Tensor<T>> record_multi<T>(const char*, std::vector<xt::xarray<T>>&&,                    \
                                                 std::vector<Tensor<T>>, std::type_identity_t<MultiBackwardFn<T>>); \
  template void run_backward<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&, bool, bool);        \
  template std::vector<Tensor<T>> grad<T>(const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&,           \
                                          const std::vector<Tensor<T>>&, bool, bool, bool);          \
  template Grads<T> detail::grad_up_to<T>(const std::vector<Tensor<T>>&,                          \
                                                        const std::vector<Tensor<T>>&,                          \
                                                        const std::vector<Tensor<T>>&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
