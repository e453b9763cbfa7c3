#include "gradient_sink.hpp"

#include <xtensor/xbuilder.hpp>

#include "engine.hpp"
#include "grad_mode.hpp"

namespace rwd {

template <class T>
GradientSink<T>::GradientSink(const Tensor<T>& target, const char* op) {
  if (!target.defined() || !target.requires_grad() || !GradMode::is_enabled()) return;
  auto state = std::make_shared<State>();
  state->shape = target.shape();
  // The collector's value is a dummy scalar; its backward hands over the sum.
  token_ = record<T>(op, xt::xarray<T>(T(0)), {target}, [state](const auto&, const auto&, const auto&) {
    const bool filled = state->pending && state->pass == detail::current_backward_pass();
    Tensor<T> sum(filled ? std::move(state->buffer) : xt::xarray<T>(xt::zeros<T>(state->shape)));
    state->buffer = xt::xarray<T>();
    state->pending = false;
    state->scheduled = false;
    return Grads<T>{sum};
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
xt::xarray<T>& GradientSink<T>::buffer() {
  State& state = current();
  if (!state.pending) {
    state.buffer = xt::zeros<T>(state.shape);
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
