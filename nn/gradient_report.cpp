#include "gradient_report.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"
#include "step_gradients.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

template <>
Tolerance default_gradient_tolerance<double>() {
  return {1e-9, 1e-12};
}
template <>
Tolerance default_gradient_tolerance<float>() {
  return {1e-3, 1e-5};
}

namespace {

template <class T>
Shape shape_of(const xt::xarray<T>& a) {
  return Shape(a.shape().begin(), a.shape().end());
}

}  // namespace

// Per element: diff = |a - r|, passes when diff <= atol + rtol |r|; the worst
// element maximises diff / (atol + rtol |r|); NaN on either side fails.
template <class T>
GradientDifference compare_gradient(const std::string& name, const xt::xarray<T>& tape,
                                    const xt::xarray<T>& reference, const Tolerance& tol) {
  if (shape_of(tape) != shape_of(reference))
    throw Error("compare_gradient: " + name + ": the tape's gradient has shape " + format_shape(shape_of(tape)) +
                ", the reference's " + format_shape(shape_of(reference)));
  GradientDifference d;
  d.name = name;
  d.shape = shape_of(reference);
  double worst_ratio = -1, tape_sq = 0, ref_sq = 0;
  std::size_t worst = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double a = static_cast<double>(tape.data()[i]), r = static_cast<double>(reference.data()[i]);
    tape_sq += a * a;
    ref_sq += r * r;
    const double diff = std::abs(a - r), ratio = tol.share_used(a, r);
    d.max_abs = std::isnan(diff) ? std::numeric_limits<double>::infinity() : std::max(d.max_abs, diff);
    d.max_rel = std::max(d.max_rel, relative_error(a, r));
    if (!tol.accepts(a, r)) d.passed = false;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  d.tape_norm = std::sqrt(tape_sq);
  d.reference_norm = std::sqrt(ref_sq);
  const Shape index = unravel(worst, d.shape);
  d.worst.assign(index.begin(), index.end());
  if (reference.size()) {
    d.tape = static_cast<double>(tape.data()[worst]);
    d.reference = static_cast<double>(reference.data()[worst]);
  }
  return d;
}

bool GradientReport::passed() const {
  for (const auto& p : parameters)
    if (!p.passed) return false;
  for (const auto& s : steps)
    if (!s.difference.passed) return false;
  return true;
}

std::optional<StepDifference> GradientReport::first_divergence() const {
  std::optional<StepDifference> first;
  for (const auto& s : steps) {
    if (s.difference.passed) continue;
    if (!first || s.step > first->step || (s.step == first->step && s.layer > first->layer)) first = s;
  }
  return first;
}

std::string GradientReport::to_string(std::size_t max_step_rows) const {
  std::ostringstream out;
  out << "gradient check, tape vs hand-derived BPTT: " << (passed() ? "PASSED" : "FAILED") << " (rtol "
      << tolerance.rtol << ", atol " << tolerance.atol << ")\n";
  auto numbers = [&out](const GradientDifference& d) {
    out << std::scientific << std::setprecision(3) << std::setw(12) << d.max_abs << std::setw(12) << d.max_rel
        << "  " << std::left << std::setw(14) << format_shape(Shape(d.worst.begin(), d.worst.end())) << std::right << std::setprecision(6)
        << std::setw(15) << d.tape << std::setw(15) << d.reference << std::defaultfloat << "  "
        << (d.passed ? "ok" : "FAIL") << "\n";
  };
  if (!parameters.empty()) {
    out << "  " << std::left << std::setw(20) << "tensor" << std::setw(15) << "shape" << std::right << std::setw(12)
        << "max|diff|" << std::setw(12) << "max rel" << "  " << std::left << std::setw(14) << "worst at" << std::right
        << std::setw(15) << "tape" << std::setw(15) << "reference" << "  result\n";
    for (const auto& d : parameters) {
      out << "  " << std::left << std::setw(20) << d.name << std::setw(15) << format_shape(d.shape) << std::right;
      numbers(d);
    }
  }
  if (!steps.empty()) {
    std::ostringstream head;
    head << "  " << std::setw(5) << "layer" << std::setw(7) << "step" << std::setw(13) << "|tape|" << std::setw(13)
         << "|reference|" << std::setw(12) << "max|diff|" << std::setw(12) << "max rel" << "  " << std::left
         << std::setw(14) << "worst [b, j]" << std::right << std::setw(15) << "tape" << std::setw(15) << "reference"
         << "  result\n";
    const std::string header = head.str();
    // Rows by state (h, then c) and layer, top layer first, t = T..1; long passing runs are elided.
    std::vector<std::pair<char, std::size_t>> groups;  // (state, layer)
    for (const auto& s : steps)
      if (std::find(groups.begin(), groups.end(), std::pair(s.state, s.layer)) == groups.end())
        groups.emplace_back(s.state, s.layer);
    std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first == 'h' : a.second > b.second;
    });
    char shown_state = 0;
    for (auto [state, layer] : groups) {
      if (state != shown_state)
        out << "  dL/d" << state << "_t per step, in the order backward visits them:\n" << header;
      shown_state = state;
      std::vector<const StepDifference*> rows;
      for (const auto& s : steps)
        if (s.layer == layer && s.state == state) rows.push_back(&s);
      std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->step > b->step; });
      const std::size_t n = rows.size();
      std::vector<bool> shown(n, n <= max_step_rows);
      for (std::size_t i = 0; i < n; ++i) {
        if (i < 3 || i + 3 >= n) shown[i] = true;
        if (!rows[i]->difference.passed)
          for (std::size_t j = i ? i - 1 : 0; j <= std::min(n - 1, i + 1); ++j) shown[j] = true;
      }
      for (std::size_t i = 0; i < n;) {
        if (!shown[i]) {
          std::size_t j = i;
          while (j < n && !shown[j]) ++j;
          out << "  " << std::setw(5) << layer << "    ... steps " << rows[j - 1]->step << ".." << rows[i]->step
              << " (" << (j - i) << " steps) all ok\n";
          i = j;
          continue;
        }
        const auto& d = rows[i]->difference;
        out << "  " << std::setw(5) << layer << std::setw(7) << rows[i]->step << std::scientific
            << std::setprecision(4) << std::setw(13) << d.tape_norm << std::setw(13) << d.reference_norm
            << std::defaultfloat;
        numbers(d);
        ++i;
      }
    }
  }
  if (auto first = first_divergence())
    out << "  the backward pass first goes wrong at layer " << first->layer << ", step " << first->step
        << " (dL/d" << first->state << "_" << first->step << ")\n";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const GradientReport& report) { return out << report.to_string(); }

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

template <class T>
xt::xarray<T> grad_or_zeros(const Tensor<T>& t) {
  const Tensor<T> g = t.grad();
  if (g.defined()) return g.value();
  return xt::zeros<T>(t.shape());
}

template <class T>
void add_step_rows(const char* op, GradientReport& report, const std::vector<std::vector<xt::xarray<T>>>& tape_dh,
                   const std::vector<const xt::xarray<T>*>& reference, char state) {
  if (tape_dh.size() > reference.size())
    throw Error(std::string(op) + ": got states for " + std::to_string(tape_dh.size()) +
                " layers, the reference has " + std::to_string(reference.size()));
  for (std::size_t l = 0; l < tape_dh.size(); ++l) {
    const auto& dh = *reference[l];
    const std::size_t steps = dh.shape()[0], batch = dh.shape()[1], hidden = dh.shape()[2];
    if (tape_dh[l].size() != steps)
      throw Error(std::string(op) + ": layer " + std::to_string(l) + ": got " + std::to_string(tape_dh[l].size()) +
                  " hidden states, the reference has " + std::to_string(steps) + " steps");
    xt::xarray<T> ref_t = xt::xarray<T>::from_shape({batch, hidden});
    for (std::size_t t = 0; t < steps; ++t) {
      std::copy(dh.data() + t * batch * hidden, dh.data() + (t + 1) * batch * hidden, ref_t.data());
      StepDifference s;
      s.layer = l;
      s.step = t + 1;
      s.state = state;
      s.difference = compare_gradient(std::string("dL/d") + state + "_" + std::to_string(t + 1), tape_dh[l][t], ref_t, report.tolerance);
      report.steps.push_back(std::move(s));
    }
  }
}

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


#define REWIND_INSTANTIATE_HELPERS(T)                                                                                  \
  template xt::xarray<T> grad_or_zeros<T>(const Tensor<T>&);                                                    \
  template void add_step_rows<T>(const char*, GradientReport&, const std::vector<std::vector<xt::xarray<T>>>&,  \
                                 const std::vector<const xt::xarray<T>*>&, char);                               \
  template std::vector<xt::xarray<T>> split_state_layers<T>(const char*, const Tensor<T>&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE_HELPERS)
#undef REWIND_INSTANTIATE_HELPERS

}  // namespace detail

using detail::add_step_rows;
using detail::grad_or_zeros;
using detail::parse_parameter_name;
using detail::split_state_layers;

namespace {

enum class Role { U, W, b, V, c };

struct Mapped {
  Role role;
  std::size_t layer;
};

Mapped map_name(const char* op, const std::string& name) {
  const auto p = parse_parameter_name(name);
  if (p.layer) {
    if (p.base == "weight_ih_l") return {Role::U, *p.layer};
    if (p.base == "weight_hh_l") return {Role::W, *p.layer};
    return {Role::b, *p.layer};  // bias_ih_l / bias_hh_l
  }
  if (p.base == "U") return {Role::U, 0};
  if (p.base == "W") return {Role::W, 0};
  if (p.base == "b") return {Role::b, 0};
  if (p.base == "V" || p.base == "weight") return {Role::V, 0};
  if (p.base == "c" || p.base == "bias") return {Role::c, 0};
  throw Error(std::string(op) + ": parameter '" + name +
              "' is not an Elman RNN parameter (expected weight_ih_l<n>, weight_hh_l<n>, bias_ih_l<n>, "
              "bias_hh_l<n>, a readout weight/bias, or U, W, b, V, c)");
}

}  // namespace

template <class T>
std::vector<const xt::xarray<T>*> elman_dh(const bptt::ElmanGradients<T>& reference) {
  std::vector<const xt::xarray<T>*> dh;
  for (const auto& layer : reference.layers) dh.push_back(&layer.dh);
  return dh;
}

template <class T>
GradientReport compare_with_reference(const TapeGradients<T>& tape, const bptt::ElmanGradients<T>& reference,
                                      const Tolerance& tolerance) {
  const char* op = "compare_with_reference";
  GradientReport report;
  report.tolerance = tolerance;
  const std::size_t n_layers = reference.layers.size();
  for (const auto& [name, tensor] : tape.parameters) {
    if (!tensor.defined()) throw Error(std::string(op) + ": parameter '" + name + "' is undefined");
    const Mapped m = map_name(op, name);
    const xt::xarray<T>* ref = nullptr;
    if (m.role == Role::V || m.role == Role::c) {
      if (reference.V.dimension() != 2)
        throw Error(std::string(op) + ": '" + name + "' looks like a readout, but the reference has none");
      ref = m.role == Role::V ? &reference.V : &reference.c;
    } else {
      if (m.layer >= n_layers)
        throw Error(std::string(op) + ": '" + name + "' is for layer " + std::to_string(m.layer) +
                    ", the reference has " + std::to_string(n_layers) + " layers");
      const auto& g = reference.layers[m.layer];
      ref = m.role == Role::U ? &g.U : m.role == Role::W ? &g.W : &g.b;
    }
    report.parameters.push_back(compare_gradient(name, grad_or_zeros(tensor), *ref, tolerance));
  }
  if (tape.h0.defined()) {
    if (tape.h0.dim() == 3) {  // torch's [L, B, H]: the layers' dL/dh_0 stacked
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
      report.parameters.push_back(compare_gradient("h0", grad_or_zeros(tape.h0), stacked, tolerance));
    } else {
      if (n_layers != 1)
        throw Error(std::string(op) + ": a 2-D h0 needs a one-layer reference, got " + std::to_string(n_layers) +
                    " layers (pass [L, B, H])");
      report.parameters.push_back(compare_gradient("h0", grad_or_zeros(tape.h0), reference.layers[0].h0, tolerance));
    }
  }
  if (tape.x.defined()) {
    if (!n_layers) throw Error(std::string(op) + ": the reference has no layers");
    report.parameters.push_back(compare_gradient("x", grad_or_zeros(tape.x), reference.layers[0].x, tolerance));
  }
  std::vector<std::vector<xt::xarray<T>>> tape_dh(tape.hidden.size());
  for (std::size_t l = 0; l < tape.hidden.size(); ++l)
    for (const auto& h : tape.hidden[l]) tape_dh[l].push_back(grad_or_zeros(h));
  add_step_rows(op, report, tape_dh, elman_dh(reference), 'h');
  return report;
}

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
    const Mapped m = map_name(op, name);
    if (m.role == Role::V) { V = tensor.value(); continue; }
    if (m.role == Role::c) { c = tensor.value(); continue; }
    if (found.size() <= m.layer) found.resize(m.layer + 1);
    auto& f = found[m.layer];
    if (m.role == Role::U) f.U = tensor.value();
    if (m.role == Role::W) f.W = tensor.value();
    if (m.role == Role::b) {  // b = bias_ih + bias_hh
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
  const RecurrentOptions& options = rnn.options();
  if (options.bidirectional) throw Error(std::string(op) + ": the Elman reference has no bidirectional RNN");
  if (options.batch_first) throw Error(std::string(op) + ": pass a time-major RNN (batch_first=false)");
  if (options.dropout > 0 && options.num_layers > 1 && rnn.is_training())
    throw Error(std::string(op) + ": dropout is active (call eval() first)");
  if (!x.defined() || x.dim() != 3)
    throw Error(std::string(op) + ": x must be [T, B, I], got " + format_shape(x));
  if (!loss) throw Error(std::string(op) + ": no loss function given");
  const bptt::ElmanActivation activation =
      options.nonlinearity == Nonlinearity::relu ? bptt::ElmanActivation::relu : bptt::ElmanActivation::tanh;

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

#define REWIND_INSTANTIATE(T)                                                                                          \
  template GradientDifference compare_gradient<T>(const std::string&, const xt::xarray<T>&,                   \
                                                  const xt::xarray<T>&, const Tolerance&);             \
  template GradientReport compare_with_reference<T>(const TapeGradients<T>&, const bptt::ElmanGradients<T>&,         \
                                                    const Tolerance&);                                 \
  template bptt::ElmanModel<T> elman_model_from_parameters<T>(const std::vector<std::pair<std::string, Tensor<T>>>&, \
                                                        bptt::ElmanActivation);                                      \
  template GradientReport check_elman_gradients<T>(const TapeGradients<T>&, bptt::ElmanActivation,                   \
                                                   const xt::xarray<T>&, const bptt::BpttOptions&,                   \
                                                   const Tolerance&);                                  \
  template GradientReport check_rnn_gradients<T>(RNN<T>&, const Tensor<T>&, const Tensor<T>&,                  \
                                                 const std::function<Tensor<T>(const Tensor<T>&)>&,            \
                                                 const Tolerance&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
