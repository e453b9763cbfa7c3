// InlineFunction: the tape's std::function, without the heap.
//
// std::function keeps a callable inside itself only when it is trivially
// copyable and at most 16 bytes (libstdc++), so the backward closure of any op
// that captures a shared_ptr, a shape or three numbers cost one malloc per
// recorded op. InlineFunction stores a callable of up to `Capacity` bytes in
// place and a larger one in a block from the tape's per-thread free lists
// (allocate_node_block): recording an op never goes to malloc for its
// closure. It is move-only (a node's backward is never copied), so closures
// may hold move-only state.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace rwd::detail {

// Blocks of one size from per-thread free lists (autograd/tape_memory.cpp).
void* allocate_node_block(std::size_t bytes);
void free_node_block(void* block, std::size_t bytes) noexcept;

template <class Signature, std::size_t Capacity = 48>
class InlineFunction;

template <class R, class... Args, std::size_t Capacity>
class InlineFunction<R(Args...), Capacity> {
 public:
  InlineFunction() noexcept = default;
  InlineFunction(std::nullptr_t) noexcept {}  // NOLINT: as std::function's
  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, InlineFunction> && std::is_invocable_r_v<R, D&, Args...>>>
  InlineFunction(F&& f) {  // NOLINT: implicit, as std::function's
    if constexpr (stored_inline<D>) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
    } else {
      static_assert(alignof(D) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "node blocks come from operator new");
      void* block = allocate_node_block(sizeof(D));
      try {
        ::new (block) D(std::forward<F>(f));
      } catch (...) {
        free_node_block(block, sizeof(D));
        throw;
      }
      ::new (static_cast<void*>(storage_)) D*(static_cast<D*>(block));
    }
    invoke_ = &invoke<D>;
    manage_ = &manage<D>;
  }
  InlineFunction(InlineFunction&& other) noexcept { take(other); }
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  InlineFunction& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const noexcept { return invoke_ != nullptr; }
  R operator()(Args... args) const {
    if (!invoke_) throw std::bad_function_call();
    return invoke_(storage_, std::forward<Args>(args)...);
  }

 private:
  enum class Action { move_to, destroy };

  template <class D>
  static constexpr bool stored_inline = sizeof(D) <= Capacity && alignof(D) <= alignof(std::max_align_t) &&
                                        std::is_nothrow_move_constructible_v<D>;

  template <class D>
  static D& target(unsigned char* storage) {
    if constexpr (stored_inline<D>)
      return *std::launder(reinterpret_cast<D*>(storage));
    else
      return **std::launder(reinterpret_cast<D**>(storage));
  }

  template <class D>
  static R invoke(unsigned char* storage, Args... args) {
    return target<D>(storage)(std::forward<Args>(args)...);
  }

  // move_to: `to` takes the callable, `from` is left empty; destroy: `from` is.
  template <class D>
  static void manage(Action action, unsigned char* from, unsigned char* to) noexcept {
    if constexpr (stored_inline<D>) {
      D& f = target<D>(from);
      if (action == Action::move_to) ::new (static_cast<void*>(to)) D(std::move(f));
      f.~D();
    } else if (action == Action::move_to) {
      ::new (static_cast<void*>(to)) D*(*std::launder(reinterpret_cast<D**>(from)));
    } else {
      D* f = *std::launder(reinterpret_cast<D**>(from));
      f->~D();
      free_node_block(f, sizeof(D));
    }
  }

  void take(InlineFunction& other) noexcept {
    if (other.manage_) other.manage_(Action::move_to, other.storage_, storage_);
    invoke_ = std::exchange(other.invoke_, nullptr);
    manage_ = std::exchange(other.manage_, nullptr);
  }
  void reset() noexcept {
    // Cleared first: destroying the callable may destroy nodes whose own
    // closures are reset in turn, never this one twice.
    auto* manage = std::exchange(manage_, nullptr);
    invoke_ = nullptr;
    if (manage) manage(Action::destroy, storage_, nullptr);
  }

  alignas(std::max_align_t) mutable unsigned char storage_[Capacity];
  R (*invoke_)(unsigned char*, Args...) = nullptr;
  void (*manage_)(Action, unsigned char*, unsigned char*) noexcept = nullptr;
};

}  // namespace rwd::detail
