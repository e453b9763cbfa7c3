#include "gated_gradient_report.hpp"

#include <algorithm>

#include "../autograd/engine.hpp"
#include "step_gradients.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

namespace {

enum class Role { W_ih, W_hh, b_ih, b_hh };

struct Mapped {
  Role role;
  std::size_t layer;
};

Mapped map_name(const char* op, bptt::GatedKind kind, const std::string& name) {
  const auto p = detail::parse_parameter_name(name);
  if (p.layer) {
    if (p.base == "weight_ih_l") return {Role::W_ih, *p.layer};
    if (p.base == "weight_hh_l") return {Role::W_hh, *p.layer};
    if (p.base == "bias_ih_l") return {Role::b_ih, *p.layer};
    if (p.base == "bias_hh_l") return {Role::b_hh, *p.layer};
  }
  throw Error(std::string(op) + ": parameter '" + name + "' is not a " + bptt::kind_name(kind) +
              " parameter (expected weight_ih_l<n>, weight_hh_l<n>, bias_ih_l<n>, bias_hh_l<n>)");
}

// Every state of every layer: the tape's dL/d(state)_t against the reference's.
template <class T>
void add_state_rows(const char* op, GradientReport& report, const std::vector<std::vector<xt::xarray<T>>>& dh,
                    const std::vector<std::vector<xt::xarray<T>>>& dc, const bptt::GatedGradients<T>& reference) {
  std::vector<const xt::xarray<T>*> ref_h, ref_c;
  for (const auto& layer : reference.layers) ref_h.push_back(&layer.dh), ref_c.push_back(&layer.dc);
  detail::add_step_rows(op, report, dh, ref_h, 'h');
  detail::add_step_rows(op, report, dc, ref_c, 'c');
}

// [L, B, H] of the reference's per-layer [B, H] (a 2-D tape tensor: one layer)
template <class T>
xt::xarray<T> stacked(const char* op, const std::vector<const xt::xarray<T>*>& per_layer, std::size_t tape_dim) {
  if (tape_dim == 2) {
    if (per_layer.size() != 1) throw Error(std::string(op) + ": a 2-D initial state needs a one-layer reference");
    return *per_layer[0];
  }
  const std::size_t B = per_layer[0]->shape()[0], H = per_layer[0]->shape()[1];
  xt::xarray<T> out = xt::xarray<T>::from_shape({per_layer.size(), B, H});
  for (std::size_t l = 0; l < per_layer.size(); ++l) {
    if (per_layer[l]->size() != B * H)
      throw Error(std::string(op) + ": the initial state is [L, B, H] but the layers' hidden sizes differ");
    std::copy(per_layer[l]->begin(), per_layer[l]->end(), out.data() + l * B * H);
  }
  return out;
}

}  // namespace

template <class T>
bptt::GatedModel<T> gated_model_from_parameters(bptt::GatedKind kind,
                                                const std::vector<std::pair<std::string, Tensor<T>>>& parameters) {
  const char* op = "gated_model_from_parameters";
  bptt::GatedModel<T> model;
  model.kind = kind;
  std::vector<std::array<bool, 4>> found;
  for (const auto& [name, tensor] : parameters) {
    if (!tensor.defined()) throw Error(std::string(op) + ": parameter '" + name + "' is undefined");
    const Mapped m = map_name(op, kind, name);
    if (model.layers.size() <= m.layer) model.layers.resize(m.layer + 1), found.resize(m.layer + 1);
    auto& layer = model.layers[m.layer];
    (m.role == Role::W_ih ? layer.W_ih : m.role == Role::W_hh ? layer.W_hh : m.role == Role::b_ih ? layer.b_ih : layer.b_hh) =
        tensor.value();
    found[m.layer][static_cast<int>(m.role)] = true;
  }
  if (model.layers.empty()) throw Error(std::string(op) + ": no recurrent layer among the parameters");
  for (std::size_t l = 0; l < model.layers.size(); ++l) {
    auto& layer = model.layers[l];
    if (!found[l][0] || !found[l][1])
      throw Error(std::string(op) + ": layer " + std::to_string(l) + " lacks " + (found[l][0] ? "weight_hh" : "weight_ih"));
    if (!found[l][2]) layer.b_ih = xt::zeros<T>({layer.W_hh.shape()[0]});
    if (!found[l][3]) layer.b_hh = xt::zeros<T>({layer.W_hh.shape()[0]});
  }
  return model;
}

template <class T>
GradientReport compare_with_gated_reference(const TapeGradients<T>& tape, const bptt::GatedGradients<T>& reference,
                                            const Tolerance& tolerance) {
  const char* op = "compare_with_gated_reference";
  GradientReport report;
  report.tolerance = tolerance;
  const std::size_t n_layers = reference.layers.size();
  if (!n_layers) throw Error(std::string(op) + ": the reference has no layers");
  for (const auto& [name, tensor] : tape.parameters) {
    if (!tensor.defined()) throw Error(std::string(op) + ": parameter '" + name + "' is undefined");
    const Mapped m = map_name(op, bptt::GatedKind::lstm, name);
    if (m.layer >= n_layers)
      throw Error(std::string(op) + ": '" + name + "' is for layer " + std::to_string(m.layer) + ", the reference has " +
                  std::to_string(n_layers) + " layers");
    const auto& g = reference.layers[m.layer];
    const auto& ref = m.role == Role::W_ih ? g.W_ih : m.role == Role::W_hh ? g.W_hh : m.role == Role::b_ih ? g.b_ih : g.b_hh;
    report.parameters.push_back(compare_gradient(name, detail::grad_or_zeros(tensor), ref, tolerance));
  }
  std::vector<const xt::xarray<T>*> h0, c0;
  for (const auto& layer : reference.layers) h0.push_back(&layer.h0), c0.push_back(&layer.c0);
  if (tape.h0.defined())
    report.parameters.push_back(
        compare_gradient("h0", detail::grad_or_zeros(tape.h0), stacked(op, h0, tape.h0.dim()), tolerance));
  if (tape.c0.defined()) {
    if (reference.layers[0].c0.size() == 0) throw Error(std::string(op) + ": c0 given, but the reference has no cell state");
    report.parameters.push_back(
        compare_gradient("c0", detail::grad_or_zeros(tape.c0), stacked(op, c0, tape.c0.dim()), tolerance));
  }
  if (tape.x.defined())
    report.parameters.push_back(compare_gradient("x", detail::grad_or_zeros(tape.x), reference.layers[0].x, tolerance));
  std::vector<std::vector<xt::xarray<T>>> dh(tape.hidden.size()), dc(tape.cell.size());
  for (std::size_t l = 0; l < tape.hidden.size(); ++l)
    for (const auto& h : tape.hidden[l]) dh[l].push_back(detail::grad_or_zeros(h));
  for (std::size_t l = 0; l < tape.cell.size(); ++l)
    for (const auto& c : tape.cell[l]) dc[l].push_back(detail::grad_or_zeros(c));
  add_state_rows(op, report, dh, dc, reference);
  return report;
}

template <class T>
GradientReport check_gated_gradients(const TapeGradients<T>& tape, bptt::GatedKind kind, const xt::xarray<T>& dL_do,
                                     const bptt::BpttOptions& options, const Tolerance& tolerance) {
  const char* op = "check_gated_gradients";
  if (!tape.x.defined()) throw Error(std::string(op) + ": the tape's input x is needed to run the reference");
  const auto model = gated_model_from_parameters(kind, tape.parameters);
  const auto h0 = detail::split_state_layers(op, tape.h0);
  const auto c0 = kind == bptt::GatedKind::lstm ? detail::split_state_layers(op, tape.c0) : std::vector<xt::xarray<T>>{};
  const auto trace = bptt::gated_forward(model, tape.x.value(), h0, c0);
  return compare_with_gated_reference(tape, bptt::gated_backward(model, tape.x.value(), trace, dL_do, options), tolerance);
}

namespace {

// Both layers: run the module's own forward/backward, compare, then every step's state gradients.
template <class T, class Forward>
GradientReport check_layer(const char* op, bptt::GatedKind kind, Recurrent<T>& layer, const Tensor<T>& x,
                           const Tensor<T>& h0, const Tensor<T>& c0, const std::function<Tensor<T>(const Tensor<T>&)>& loss,
                           const Tolerance& tolerance, Forward forward) {
  detail::require_reference_layout(op, layer, x, bool(loss));

  TapeGradients<T> tape;
  tape.x = Tensor<T>(x.value(), true);
  if (h0.defined()) tape.h0 = Tensor<T>(h0.value(), true);
  if (c0.defined()) tape.c0 = Tensor<T>(c0.value(), true);
  layer.zero_grad();
  Tensor<T> output = forward(tape.x, tape.h0, tape.c0);
  output.retain_grad();
  loss(output).backward();
  const xt::xarray<T> dL_do =
      output.grad().defined() ? output.grad().value() : xt::xarray<T>(xt::zeros<T>(output.shape()));
  tape.parameters = layer.named_parameters();
  GradientReport report = check_gated_gradients(tape, kind, dL_do, {}, tolerance);

  RecurrentState<T> initial{h0.defined() ? Tensor<T>(h0.value()) : Tensor<T>()};
  if (kind == bptt::GatedKind::lstm) initial.push_back(c0.defined() ? Tensor<T>(c0.value()) : Tensor<T>());
  const auto steps = step_gradients<T>(layer, x, initial, loss);
  std::vector<std::vector<xt::xarray<T>>> dh(steps.size()), dc;
  if (kind == bptt::GatedKind::lstm) dc.resize(steps.size());
  for (std::size_t l = 0; l < steps.size(); ++l) {
    for (const auto& g : steps[l].h) dh[l].push_back(g.value());
    if (kind == bptt::GatedKind::lstm)
      for (const auto& g : steps[l].c) dc[l].push_back(g.value());
  }
  // the reference again, for its per-step rows (check_gated_gradients compared the rest)
  const auto model = gated_model_from_parameters(kind, tape.parameters);
  const auto trace = bptt::gated_forward(model, x.value(), detail::split_state_layers(op, h0),
                                         kind == bptt::GatedKind::lstm ? detail::split_state_layers(op, c0)
                                                                       : std::vector<xt::xarray<T>>{});
  add_state_rows(op, report, dh, dc, bptt::gated_backward(model, x.value(), trace, dL_do));
  return report;
}

}  // namespace

template <class T>
GradientReport check_lstm_gradients(LSTM<T>& lstm, const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0,
                                    const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                    const Tolerance& tolerance) {
  return check_layer<T>("check_lstm_gradients", bptt::GatedKind::lstm, lstm, x, h0, c0, loss, tolerance,
                        [&lstm](const Tensor<T>& x_, const Tensor<T>& h0_, const Tensor<T>& c0_) {
                          return lstm.forward(x_, h0_, c0_).output;
                        });
}

template <class T>
GradientReport check_gru_gradients(GRU<T>& gru, const Tensor<T>& x, const Tensor<T>& h0,
                                   const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                   const Tolerance& tolerance) {
  return check_layer<T>("check_gru_gradients", bptt::GatedKind::gru, gru, x, h0, Tensor<T>(), loss, tolerance,
                        [&gru](const Tensor<T>& x_, const Tensor<T>& h0_, const Tensor<T>&) {
                          return gru.forward(x_, h0_).output;
                        });
}

#define REWIND_INSTANTIATE(T)                                                                                            \
  template bptt::GatedModel<T> gated_model_from_parameters<T>(bptt::GatedKind,                                   \
                                                              const std::vector<std::pair<std::string, Tensor<T>>>&); \
  template GradientReport compare_with_gated_reference<T>(const TapeGradients<T>&, const bptt::GatedGradients<T>&, \
                                                          const Tolerance&);                              \
  template GradientReport check_gated_gradients<T>(const TapeGradients<T>&, bptt::GatedKind, const xt::xarray<T>&, \
                                                   const bptt::BpttOptions&, const Tolerance&);           \
  template GradientReport check_lstm_gradients<T>(LSTM<T>&, const Tensor<T>&, const Tensor<T>&, const Tensor<T>&,  \
                                                  const std::function<Tensor<T>(const Tensor<T>&)>&,              \
                                                  const Tolerance&);                                      \
  template GradientReport check_gru_gradients<T>(GRU<T>&, const Tensor<T>&, const Tensor<T>&,                     \
                                                 const std::function<Tensor<T>(const Tensor<T>&)>&,               \
                                                 const Tolerance&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
