#include "gradient_sink.hpp"

#include <algorithm>

#include <xtensor/xbuilder.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"

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
  auto state = std::make_shared<State>();
  state->shape = shape;
  // The collector's value is a dummy scalar; its backward hands over the sum.
  token_ = record<T>(op, xt::xarray<T>(T(0)), std::move(sources),
                     [state, collect = std::move(collect)](const auto& in, const auto&, const auto&) {
                       Pending* pending = state->pending.find();
                       xt::xarray<T> sum = pending && pending->filled ? std::move(pending->buffer)
                                                                      : xt::xarray<T>(xt::zeros<T>(state->shape));
                       if (pending) *pending = Pending();
                       return collect(std::move(sum), in);
                     });
  state_ = std::move(state);
}

template <class T>
xt::xarray<T>& GradientSink<T>::buffer(bool zeroed) {
  Pending& pending = state_->pending.get();
  if (!pending.filled) {
    if (zeroed)
      pending.buffer = xt::zeros<T>(state_->shape);
    else
      pending.buffer = xt::xarray<T>::from_shape(state_->shape);
    pending.filled = true;
  }
  return pending.buffer;
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
