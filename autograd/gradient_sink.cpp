#include "gradient_sink.hpp"

#include <algorithm>

#include <xtensor/xbuilder.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "tape_memory.hpp"

namespace rwd {

template <class T>
GradientSink<T>::GradientSink(const Tensor<T>& target, const char* op)
    : GradientSink(std::vector<Tensor<T>>{target}, target.defined() ? target.shape() : Shape{},
                   [](xt::xarray<T>&& buffer, const auto&) { return Grads<T>{Tensor<T>(std::move(buffer))}; }, op) {}

template <class T>
GradientSink<T>::GradientSink(std::vector<Tensor<T>> sources, const Shape& shape, Collect collect, const char* op) {
  const bool wanted = std::any_of(sources.begin(), sources.end(),
                                  [](const Tensor<T>& s) { return s.defined() && s.requires_grad(); });
  if (!wanted || !GradMode::is_enabled()) return;
  auto state = std::allocate_shared<State>(detail::NodeAllocator<State>());
  state->shape = shape;
  // The collector's value is a dummy scalar; its backward hands over the sum.
  token_ = record<T>(op, detail::filled_array<T>({}, T(0)), std::move(sources),
                     [state, collect = std::move(collect)](const auto& in, const auto&, const auto&) {
                       Pending* pending = state->pending.find();
                       if (!pending || !pending->filled) return collect(detail::filled_array<T>(state->shape, T(0)), in);
                       xt::xarray<T> sum = std::move(pending->buffer.mutable_value());
                       *pending = Pending();
                       return collect(std::move(sum), in);
                     });
  state_ = std::move(state);
}

template <class T>
xt::xarray<T>& GradientSink<T>::buffer(bool zeroed) {
  Pending& pending = state_->pending.get();
  if (!pending.filled) {
    pending.buffer = Tensor<T>(zeroed ? detail::filled_array<T>(state_->shape, T(0)) : new_array<T>(state_->shape));
    pending.filled = true;
  }
  return pending.buffer.mutable_value();
}

template <class T>
Tensor<T> GradientSink<T>::token_grad() {
  if (!state_) return Tensor<T>();
  Pending& pending = state_->pending.get();
  if (pending.scheduled) return Tensor<T>();
  pending.scheduled = true;
  return Tensor<T>::scalar(T(0));
}

template class GradientSink<float>;
template class GradientSink<double>;

}  // namespace rwd
