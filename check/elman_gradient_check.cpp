// Checking the tape against the hand-derived Elman BPTT (bptt/elman_bptt.hpp):
// the tape's gradients against a reference, and the harness that replays an
// nn::RNN's pass through the reference and compares every parameter and step.
#include "gradient_report.hpp"

#include <algorithm>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"
#include "elman_parameter_names.hpp"
#include "step_gradients.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

namespace detail {

template <class T>
std::vector<xt::xarray<T>> split_state_layers(const char* op, const Tensor<T>& h0) {
  std::vector<xt::xarray<T>> out;
  if (!h0.defined()) return out;
  const auto& v = h0.value();
  if (v.dimension() == 2) {
    out.push_back(v);
    return out;
  }
  if (v.dimension() != 3)
    throw Error(std::string(op) + ": h0 must be [B, H] or [L, B, H], got " + format_shape(h0.shape()));
  const std::size_t per = v.shape()[1] * v.shape()[2];
  for (std::size_t l = 0; l < v.shape()[0]; ++l) {
    xt::xarray<T> layer_h0 = xt::xarray<T>::from_shape({v.shape()[1], v.shape()[2]});
    std::copy(v.data() + l * per, v.data() + (l + 1) * per, layer_h0.data());
    out.push_back(std::move(layer_h0));
  }
  return out;
}

template <class T>
void require_reference_layout(const char* op, const Recurrent<T>& layer, const Tensor<T>& x, bool has_loss) {
  const RecurrentOptions& options = layer.options();
  const std::string what = std::string(op) + ": ";
  if (options.bidirectional)
    throw Error(what + "the hand-derived reference is unidirectional (no bidirectional " + layer.type_name() + ")");
  if (options.batch_first) throw Error(what + "pass a time-major " + layer.type_name() + " (batch_first=false)");
  require_no_active_dropout(op, layer);
  if (!x.defined() || x.dim() != 3) throw Error(what + "x must be [T, B, I], got " + format_shape(x));
  if (!has_loss) throw Error(what + "no loss function given");
}

#define REWIND_INSTANTIATE_HELPERS(T)                                                        \
  template std::vector<xt::xarray<T>> split_state_layers<T>(const char*, const Tensor<T>&); \
  template void require_reference_layout<T>(const char*, const Recurrent<T>&, const Tensor<T>&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE_HELPERS)
#undef REWIND_INSTANTIATE_HELPERS

}  // namespace detail

using detail::add_step_rows;
using detail::ElmanName;
using detail::ElmanRole;
using detail::grad_or_zeros;
using detail::map_elman_name;
using detail::split_state_layers;

namespace {

template <class T>
std::vector<const xt::xarray<T>*> elman_dh(const bptt::ElmanGradients<T>& reference) {
  std::vector<const xt::xarray<T>*> dh;
  for (const auto& layer : reference.layers) dh.push_back(&layer.dh);
  return dh;
}

// The reference's gradient for the parameter `name`.
template <class T>
const xt::xarray<T>& reference_of(const char* op, const std::string& name, const bptt::ElmanGradients<T>& reference) {
  const ElmanName m = map_elman_name(op, name);
  if (m.role == ElmanRole::V || m.role == ElmanRole::c) {
    if (reference.V.dimension() != 2)
      throw Error(std::string(op) + ": '" + name + "' looks like a readout, but the reference has none");
    return m.role == ElmanRole::V ? reference.V : reference.c;
  }
  const std::size_t n_layers = reference.layers.size();
  if (m.layer >= n_layers)
    throw Error(std::string(op) + ": '" + name + "' is for layer " + std::to_string(m.layer) +
                ", the reference has " + std::to_string(n_layers) + " layers");
  const auto& g = reference.layers[m.layer];
  return m.role == ElmanRole::U ? g.U : m.role == ElmanRole::W ? g.W : g.b;
}

// The reference's dL/dh_0 in the tape's layout: torch's [L, B, H] (the
// layers' stacked) when the tape's h0 is 3-D, else one layer's [B, H].
template <class T>
xt::xarray<T> reference_h0(const char* op, const Tensor<T>& h0, const bptt::ElmanGradients<T>& reference) {
  const std::size_t n_layers = reference.layers.size();
  if (h0.dim() != 3) {
    if (n_layers != 1)
      throw Error(std::string(op) + ": a 2-D h0 needs a one-layer reference, got " + std::to_string(n_layers) +
                  " layers (pass [L, B, H])");
    return reference.layers[0].h0;
  }
  std::vector<std::size_t> shape{n_layers, 0, 0};
  if (n_layers) {
    shape[1] = reference.layers[0].h0.shape()[0];
    shape[2] = reference.layers[0].h0.shape()[1];
  }
  xt::xarray<T> stacked = xt::xarray<T>::from_shape(shape);
  const std::size_t per = shape[1] * shape[2];
  for (std::size_t l = 0; l < n_layers; ++l) {
    if (reference.layers[l].h0.size() != per)
      throw Error(std::string(op) + ": h0 is [L, B, H] but the layers' hidden sizes differ");
    std::copy(reference.layers[l].h0.data(), reference.layers[l].h0.data() + per, stacked.data() + l * per);
  }
  return stacked;
}

}  // namespace

template <class T>
GradientReport compare_with_reference(const TapeGradients<T>& tape, const bptt::ElmanGradients<T>& reference,
                                      const Tolerance& tolerance) {
  const char* op = "compare_with_reference";
  GradientReport report;
  report.tolerance = tolerance;
  for (const auto& [name, tensor] : tape.parameters) {
    if (!tensor.defined()) throw Error(std::string(op) + ": parameter '" + name + "' is undefined");
    const xt::xarray<T>& ref = reference_of(op, name, reference);
    report.parameters.push_back(compare_gradient(name, grad_or_zeros(tensor), ref, tolerance));
  }
  if (tape.h0.defined())
    report.parameters.push_back(compare_gradient("h0", grad_or_zeros(tape.h0), reference_h0(op, tape.h0, reference),
                                                 tolerance));
  if (tape.x.defined()) {
    if (reference.layers.empty()) throw Error(std::string(op) + ": the reference has no layers");
    report.parameters.push_back(compare_gradient("x", grad_or_zeros(tape.x), reference.layers[0].x, tolerance));
  }
  std::vector<std::vector<xt::xarray<T>>> tape_dh(tape.hidden.size());
  for (std::size_t l = 0; l < tape.hidden.size(); ++l)
    for (const auto& h : tape.hidden[l]) tape_dh[l].push_back(grad_or_zeros(h));
  add_step_rows(op, report, tape_dh, elman_dh(reference), 'h');
  return report;
}

template <class T>
GradientReport check_elman_gradients(const TapeGradients<T>& tape, bptt::ElmanActivation activation,
                                     const xt::xarray<T>& dL_do, const bptt::BpttOptions& options,
                                     const Tolerance& tolerance) {
  if (!tape.x.defined()) throw Error("check_elman_gradients: the tape's input x is needed to run the reference");
  const bptt::ElmanModel<T> model = elman_model_from_parameters(tape.parameters, activation);
  const std::vector<xt::xarray<T>> h0 = split_state_layers("check_elman_gradients", tape.h0);
  const auto trace = bptt::elman_forward(model, tape.x.value(), h0);
  const auto reference = bptt::elman_backward(model, tape.x.value(), trace, dL_do, options);
  return compare_with_reference(tape, reference, tolerance);
}

template <class T>
GradientReport check_rnn_gradients(RNN<T>& rnn, const Tensor<T>& x, const Tensor<T>& h0,
                                   const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                   const Tolerance& tolerance) {
  const char* op = "check_rnn_gradients";
  detail::require_reference_layout(op, rnn, x, bool(loss));
  const bptt::ElmanActivation activation =
      rnn.options().nonlinearity == Nonlinearity::relu ? bptt::ElmanActivation::relu : bptt::ElmanActivation::tanh;

  // 1. the RNN itself: parameters, h0 and x
  Tensor<T> x_leaf(x.value(), true), h0_leaf;
  if (h0.defined()) h0_leaf = Tensor<T>(h0.value(), true);
  rnn.zero_grad();
  Tensor<T> output = rnn.forward(x_leaf, h0_leaf).output;
  output.retain_grad();
  loss(output).backward();
  const xt::xarray<T> dL_do = output.grad().defined() ? output.grad().value() : xt::xarray<T>(xt::zeros<T>(output.shape()));
  const TapeGradients<T> tape{rnn.named_parameters(), {}, h0_leaf, x_leaf};
  const bptt::ElmanModel<T> model = elman_model_from_parameters(tape.parameters, activation);
  const auto trace = bptt::elman_forward(model, x.value(), split_state_layers(op, h0));
  const auto reference = bptt::elman_backward(model, x.value(), trace, dL_do);
  GradientReport report = compare_with_reference(tape, reference, tolerance);

  // 2. dL/dh_t of every layer and step
  const auto steps = step_gradients<T>(rnn, x, {h0.defined() ? Tensor<T>(h0.value()) : Tensor<T>()}, loss);
  std::vector<std::vector<xt::xarray<T>>> tape_dh(steps.size());
  for (std::size_t l = 0; l < steps.size(); ++l)
    for (const auto& dh : steps[l].h) tape_dh[l].push_back(dh.value());
  add_step_rows(op, report, tape_dh, elman_dh(reference), 'h');
  return report;
}

#define REWIND_INSTANTIATE(T)                                                                                        \
  template GradientReport compare_with_reference<T>(const TapeGradients<T>&, const bptt::ElmanGradients<T>&,         \
                                                    const Tolerance&);                                               \
  template GradientReport check_elman_gradients<T>(const TapeGradients<T>&, bptt::ElmanActivation,                   \
                                                   const xt::xarray<T>&, const bptt::BpttOptions&, const Tolerance&); \
  template GradientReport check_rnn_gradients<T>(RNN<T>&, const Tensor<T>&, const Tensor<T>&,                        \
                                                 const std::function<Tensor<T>(const Tensor<T>&)>&, const Tolerance&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
