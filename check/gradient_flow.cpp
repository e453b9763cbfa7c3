#include "gradient_flow.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <ostream>
#include <cstdio>
#include <sstream>

#include "../autograd/engine.hpp"
#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/random.hpp"

namespace rwd::nn {

const char* verdict_name(FlowVerdict verdict) {
  switch (verdict) {
    case FlowVerdict::healthy: return "healthy";
    case FlowVerdict::vanishing: return "vanishing";
    case FlowVerdict::exploding: return "exploding";
  }
  return "?";
}

const char* GradientFlow::rule() {
  return "exploding if max_t |dL/dh_t| / |dL/dh_last| > 1e3 (measured growth); else vanishing if "
         "gamma^(T-1) < 1e-3, gamma = geometric mean over steps 2..T of the largest |ds_t/ds_{t-1}| "
         "(an upper bound on the growth across the sequence); else healthy";
}

namespace {

template <class T>
double norm(const xt::xarray<T>& a) {
  double s = 0;
  for (const T v : a) s += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(s);
}

// The spectral norm of J = ∂(state k after the step)/∂(state k before), other
// states fixed: power iteration on JᵀJ, J v by central differences, Jᵀ u by a VJP.
template <class T>
double step_jacobian_norm(const RecurrentCell<T>& cell, const Tensor<T>& projected, const RecurrentState<T>& before,
                          std::size_t k, std::size_t iterations, Generator& gen) {
  RecurrentState<T> state;
  for (const auto& s : before) state.push_back(Tensor<T>(s.value()));
  const Tensor<T> p(projected.value());
  const xt::xarray<T> s0 = before[k].value();
  const double eps = (std::is_same_v<T, float> ? 1e-3 : 1e-6) * std::max(1.0, norm(s0) / std::sqrt(double(s0.size())));
  auto apply = [&](const xt::xarray<T>& v) {  // J v ≈ (f(s + εv) - f(s - εv)) / 2ε
    NoGradGuard no_grad;
    RecurrentState<T> up = state, down = state;
    up[k] = Tensor<T>(xt::xarray<T>(s0 + static_cast<T>(eps) * v));
    down[k] = Tensor<T>(xt::xarray<T>(s0 - static_cast<T>(eps) * v));
    return xt::xarray<T>((cell.step(p, up)[k].value() - cell.step(p, down)[k].value()) / static_cast<T>(2 * eps));
  };
  RecurrentState<T> recorded = state;
  recorded[k] = Tensor<T>(s0, true);
  const Tensor<T> out = cell.step(p, recorded)[k];
  xt::xarray<T> v = randn<T>(Shape(s0.shape().begin(), s0.shape().end()), gen).value();
  v /= static_cast<T>(std::max(norm(v), 1e-300));
  double sigma = 0;
  for (std::size_t i = 0; i < iterations; ++i) {
    const xt::xarray<T> w = apply(v);
    sigma = norm(w);
    if (!(sigma > 0)) return 0;
    const xt::xarray<T> u = grad<T>({out}, {recorded[k]}, {Tensor<T>(w)}, /*retain_graph=*/true, false, true)[0].value();
    const double n = norm(u);
    if (!(n > 0)) return 0;
    v = u / static_cast<T>(n);
  }
  return norm(apply(v));
}

void judge(LayerGradientFlow& f, const GradientFlowOptions& o) {
  const std::size_t T = f.dh_norm.size();
  // growth from where backward starts
  std::size_t start = f.reverse ? 0 : T - 1;
  for (std::size_t i = 0; i < T && f.dh_norm[start] == 0; ++i) start = f.reverse ? i : T - 1 - i;
  const double biggest = *std::max_element(f.dh_norm.begin(), f.dh_norm.end());
  f.growth = f.dh_norm[start] > 0 ? biggest / f.dh_norm[start] : 0;
  if (!f.jacobian_h.empty() && T >= 2) {
    double log_sum = 0;
    std::size_t n = 0;
    for (std::size_t t = 0; t < T; ++t) {
      if (t == (f.reverse ? T - 1 : 0)) continue;  // the first step backward never crosses
      double j = f.jacobian_h[t];
      if (!f.jacobian_c.empty()) j = std::max(j, f.jacobian_c[t]);
      log_sum += std::log(std::max(j, std::numeric_limits<double>::min()));
      ++n;
    }
    f.gamma = std::exp(log_sum / static_cast<double>(n));
    f.bound = std::exp(log_sum);
  }
  if (f.growth > o.exploding_above) f.verdict = FlowVerdict::exploding;
  else if (!f.jacobian_h.empty() && T >= 2 && f.bound < o.vanishing_below) f.verdict = FlowVerdict::vanishing;
  else f.verdict = FlowVerdict::healthy;
}

}  // namespace

template <class T>
GradientFlow gradient_flow(Recurrent<T>& model, const Tensor<T>& input, const RecurrentState<T>& initial_state,
                           const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                           const GradientFlowOptions& options) {
  const auto steps = step_gradients<T>(model, input, initial_state, loss);
  Generator gen(options.seed);
  GradientFlow flow;
  for (const auto& s : steps) {
    LayerGradientFlow f;
    f.layer = s.layer;
    f.reverse = s.reverse;
    for (const auto& g : s.h) f.dh_norm.push_back(norm(g.value()));
    for (const auto& g : s.c) f.dc_norm.push_back(norm(g.value()));
    if (options.power_iterations > 0) {
      const auto& cell = model.cell(s.layer, s.reverse);
      for (std::size_t t = 0; t < s.state_before.size(); ++t) {
        const auto& before = s.state_before[t];
        f.jacobian_h.push_back(step_jacobian_norm(cell, s.projected_input[t], before, 0, options.power_iterations, gen));
        if (before.size() > 1)
          f.jacobian_c.push_back(step_jacobian_norm(cell, s.projected_input[t], before, 1, options.power_iterations, gen));
      }
    }
    judge(f, options);
    if (f.verdict == FlowVerdict::exploding || (f.verdict == FlowVerdict::vanishing && flow.verdict == FlowVerdict::healthy))
      flow.verdict = f.verdict;
    flow.layers.push_back(std::move(f));
  }
  return flow;
}

namespace {

template <class... Args>
std::string print(const char* format, Args... args) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, format, args...);
  return buffer;
}

}  // namespace

std::string GradientFlow::to_string() const {
  std::string out = std::string("gradient flow: ") + verdict_name(verdict) + "\n" +
                    print("  %5s %9s %12s %12s %12s %12s %10s %12s %11s  verdict\n", "layer", "direction",
                          "min|dL/dh|", "max|dL/dh|", "min|dh/dh'|", "max|dh/dh'|", "gamma", "gamma^(T-1)", "growth");
  for (const auto& f : layers) {
    auto [lo, hi] = std::minmax_element(f.dh_norm.begin(), f.dh_norm.end());
    std::string jlo = "-", jhi = "-", gamma = "-", bound = "-";
    if (!f.jacobian_h.empty()) {
      auto [a, b] = std::minmax_element(f.jacobian_h.begin(), f.jacobian_h.end());
      jlo = print("%.4g", *a), jhi = print("%.4g", *b), gamma = print("%.4g", f.gamma), bound = print("%.3e", f.bound);
    }
    out += print("  %5zu %9s %12.4e %12.4e %12s %12s %10s %12s %11.4g  %s\n", f.layer, f.reverse ? "reverse" : "forward",
                 *lo, *hi, jlo.c_str(), jhi.c_str(), gamma.c_str(), bound.c_str(), f.growth, verdict_name(f.verdict));
  }
  out += std::string("  rule: ") + rule() + "\n";
  return out;
}

std::string GradientFlow::to_csv() const {
  std::string out = "layer,direction,t,dh_norm,dc_norm,jacobian_h,jacobian_c\n";
  auto field = [](const std::vector<double>& v, std::size_t t) { return t < v.size() ? print("%.17g", v[t]) : std::string(); };
  for (const auto& f : layers)
    for (std::size_t t = 0; t < f.dh_norm.size(); ++t)
      out += print("%zu,%s,%zu,", f.layer, f.reverse ? "reverse" : "forward", t + 1) + field(f.dh_norm, t) + "," +
             field(f.dc_norm, t) + "," + field(f.jacobian_h, t) + "," + field(f.jacobian_c, t) + "\n";
  return out;
}

std::ostream& operator<<(std::ostream& out, const GradientFlow& flow) { return out << flow.to_string(); }

template GradientFlow gradient_flow<float>(Recurrent<float>&, const Tensor<float>&, const RecurrentState<float>&,
                                           const std::function<Tensor<float>(const Tensor<float>&)>&,
                                           const GradientFlowOptions&);
template GradientFlow gradient_flow<double>(Recurrent<double>&, const Tensor<double>&, const RecurrentState<double>&,
                                            const std::function<Tensor<double>(const Tensor<double>&)>&,
                                            const GradientFlowOptions&);

}  // namespace rwd::nn
