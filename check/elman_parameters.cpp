// PyTorch's parameter names (torch.nn.RNN's weight_ih_l<n>, ...) read as the
// Elman reference's U, W, b, V, c, and the reference model built from them.
#include "elman_parameter_names.hpp"

#include <optional>
#include <vector>

#include "../autograd/engine.hpp"
#include "gradient_report.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

namespace detail {

// "rnn.weight_ih_l2" -> ("weight_ih_l", 2); names without a layer suffix -> (name, none)
ParsedName parse_parameter_name(const std::string& dotted) {
  const auto dot = dotted.rfind('.');
  const std::string last = dot == std::string::npos ? dotted : dotted.substr(dot + 1);
  for (const char* prefix : {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l"}) {
    const std::string p = prefix;
    if (last.size() > p.size() && last.compare(0, p.size(), p) == 0 &&
        last.find_first_not_of("0123456789", p.size()) == std::string::npos)
      return {p, std::stoul(last.substr(p.size()))};
  }
  return {last, std::nullopt};
}

ElmanName map_elman_name(const char* op, const std::string& name) {
  const auto p = parse_parameter_name(name);
  if (p.layer) {
    if (p.base == "weight_ih_l") return {ElmanRole::U, *p.layer};
    if (p.base == "weight_hh_l") return {ElmanRole::W, *p.layer};
    return {ElmanRole::b, *p.layer};  // bias_ih_l / bias_hh_l
  }
  if (p.base == "U") return {ElmanRole::U, 0};
  if (p.base == "W") return {ElmanRole::W, 0};
  if (p.base == "b") return {ElmanRole::b, 0};
  if (p.base == "V" || p.base == "weight") return {ElmanRole::V, 0};
  if (p.base == "c" || p.base == "bias") return {ElmanRole::c, 0};
  throw Error(std::string(op) + ": parameter '" + name +
              "' is not an Elman RNN parameter (expected weight_ih_l<n>, weight_hh_l<n>, bias_ih_l<n>, "
              "bias_hh_l<n>, a readout weight/bias, or U, W, b, V, c)");
}

}  // namespace detail

using detail::ElmanName;
using detail::ElmanRole;
using detail::map_elman_name;

template <class T>
bptt::ElmanModel<T> elman_model_from_parameters(const std::vector<std::pair<std::string, Tensor<T>>>& parameters,
                                          bptt::ElmanActivation activation) {
  const char* op = "elman_model_from_parameters";
  struct Found {
    std::optional<xt::xarray<T>> U, W, b;
  };
  std::vector<Found> found;
  std::optional<xt::xarray<T>> V, c;
  for (const auto& [name, tensor] : parameters) {
    if (!tensor.defined()) throw Error(std::string(op) + ": parameter '" + name + "' is undefined");
    const ElmanName m = map_elman_name(op, name);
    if (m.role == ElmanRole::V) { V = tensor.value(); continue; }
    if (m.role == ElmanRole::c) { c = tensor.value(); continue; }
    if (found.size() <= m.layer) found.resize(m.layer + 1);
    auto& f = found[m.layer];
    if (m.role == ElmanRole::U) f.U = tensor.value();
    if (m.role == ElmanRole::W) f.W = tensor.value();
    if (m.role == ElmanRole::b) {  // b = bias_ih + bias_hh
      if (f.b) f.b = xt::xarray<T>(*f.b + tensor.value());
      else f.b = tensor.value();
    }
  }
  if (found.empty()) throw Error(std::string(op) + ": no recurrent layer among the parameters");
  bptt::ElmanModel<T> model;
  for (std::size_t l = 0; l < found.size(); ++l) {
    auto& f = found[l];
    if (!f.U || !f.W)
      throw Error(std::string(op) + ": layer " + std::to_string(l) + " lacks " + (f.U ? "weight_hh" : "weight_ih"));
    bptt::ElmanLayer<T> layer{*f.U, *f.W, f.b ? *f.b : xt::xarray<T>(xt::zeros<T>({f.W->shape()[0]})), activation};
    model.layers.push_back(std::move(layer));
  }
  if (V) model.readout = bptt::ElmanReadout<T>{*V, c ? *c : xt::xarray<T>(xt::zeros<T>({V->shape()[0]}))};
  else if (c) throw Error(std::string(op) + ": a readout bias without a readout weight");
  return model;
}

#define REWIND_INSTANTIATE(T)                                                                                      \
  template bptt::ElmanModel<T> elman_model_from_parameters<T>(const std::vector<std::pair<std::string, Tensor<T>>>&, \
                                                              bptt::ElmanActivation);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
