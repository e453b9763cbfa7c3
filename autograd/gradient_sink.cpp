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
                       const bool filled = state->pending && state->pass == detail::current_backward_pass();
                       xt::xarray<T> sum;
                       if (filled)
                         sum = std::move(state->buffer);
                       else
                         sum = xt::zeros<T>(state->shape);
                       state->buffer = xt::xarray<T>();
                       state->pending = false;
                       state->scheduled = false;
                       return collect(std::move(sum), in);
                     });
  state_ = std::move(state);
}

template <class T>
typename GradientSink<T>::State& GradientSink<T>::current() {
  State& state = *state_;
  if (state.pass != detail::current_backward_pass()) {
    state.pass = detail::current_backward_pass();
    state.pending = state.scheduled = false;
  }
  return state;
}

template <class T>
xt::xarray<T>& GradientSink<T>::buffer(bool zeroed) {
  State& state = current();
  if (!state.pending) {
    if (zeroed)
      state.buffer = xt::zeros<T>(state.shape);
    else
      state.buffer = xt::xarray<T>::from_shape(state.shape);
    state.pending = true;
  }
  return state.buffer;
}

template <class T>
Tensor<T> GradientSink<T>::token_grad() {
  if (!state_) return Tensor<T>();
  State& state = current();
  if (state.scheduled) return Tensor<T>();
  state.scheduled = true;
  return Tensor<T>::scalar(T(0));
}

template class GradientSink<float>;
template class GradientSink<double>;

}  // namespace rwd
