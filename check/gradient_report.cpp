// Comparing gradients with a reference, element by element: one tensor
// (compare_gradient), and the per-step rows every report shares.
#include "gradient_report.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "../autograd/engine.hpp"
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

namespace detail {

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

#define REWIND_INSTANTIATE_HELPERS(T)                                                                        \
  template xt::xarray<T> grad_or_zeros<T>(const Tensor<T>&);                                                     \
  template void add_step_rows<T>(const char*, GradientReport&, const std::vector<std::vector<xt::xarray<T>>>&,   \
                                 const std::vector<const xt::xarray<T>*>&, char);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE_HELPERS)
#undef REWIND_INSTANTIATE_HELPERS

}  // namespace detail

#define REWIND_INSTANTIATE(T)                                                                                   \
  template GradientDifference compare_gradient<T>(const std::string&, const xt::xarray<T>&, const xt::xarray<T>&, \
                                                  const Tolerance&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
