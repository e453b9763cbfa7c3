#include "gradcheck.hpp"

#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "engine.hpp"
#include "grad_mode.hpp"
#include "ops.hpp"
#include "random.hpp"
#include "instantiate.hpp"

namespace rwd {

bool GradcheckReport::passed() const {
  for (const auto& input : inputs)
    if (!input.passed) return false;
  return true;
}


std::vector<std::string> GradcheckReport::warnings() const {
  std::vector<std::string> lines;
  for (const auto& c : inputs)
    if (c.all_zero)
      lines.push_back("warning: input " + c.name +
                      ": every analytic and numeric entry is exactly 0, so this check proves nothing"
                      " (does f use in[" + std::to_string(c.input) + "], not a captured tensor?)");
  if (!skipped.empty()) {
    std::string names;
    for (const auto& n : skipped) names += (names.empty() ? "" : ", ") + n;
    lines.push_back("warning: not checked, since they do not require grad: " + names);
  }
  return lines;
}

std::string GradcheckReport::to_string() const {
  std::ostringstream out;
  out << (second_order ? "gradgradcheck " : "gradcheck ") << name << ": " << (passed() ? "PASSED" : "FAILED")
      << " (" << precision << ", " << mode << ", eps " << eps << ", atol " << atol << ", rtol " << rtol << ")\n";
  // One row per checked input; "worst" is the output element (flat index) and
  // the input element (index in the input's shape) whose error is nearest its tolerance.
  std::size_t width = 7;
  for (const auto& c : inputs) width = std::max(width, c.name.size() + 2);
  out << "  " << std::left << std::setw(static_cast<int>(width)) << "input"
      << "shape          max abs err   max rel err   worst: out, in          analytic        numeric         result\n";
  const bool projected = mode.rfind("fast", 0) == 0;
  for (const auto& c : inputs) {
    std::ostringstream where;
    if (projected)
      where << "(projection)";
    else
      where << c.worst_output << ", " << format_shape(unravel(c.worst_element, c.shape));
    out << "  " << std::left << std::setw(static_cast<int>(width)) << c.name << std::setw(15) << format_shape(c.shape)
        << std::scientific << std::setprecision(3) << std::setw(14) << c.max_abs_error << std::setw(14)
        << c.max_rel_error << std::setw(24) << where.str() << std::setprecision(6) << std::setw(16) << c.analytic
        << std::setw(16) << c.numeric << (c.passed ? "pass" : "FAIL") << std::defaultfloat << "\n";
  }
  for (const auto& line : warnings()) out << "  " << line << "\n";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const GradcheckReport& report) { return out << report.to_string(); }

namespace {

template <class T>
struct Checker {
  const Function<T>& f;
  std::vector<Tensor<T>> inputs;   // fresh leaves holding the caller's values
  std::vector<std::size_t> checked;  // positions of inputs that require grad
  std::vector<std::string> names;    // of every input
  GradcheckReport report;

  Checker(const Function<T>& fn, const std::vector<Tensor<T>>& given, const GradcheckOptions& o) : f(fn) {
    report.name = o.name;
    report.precision = std::is_same_v<T, double> ? "float64" : "float32";
    report.eps = o.eps.value_or(GradcheckTolerance<T>::eps);
    report.atol = o.atol.value_or(GradcheckTolerance<T>::atol);
    report.rtol = o.rtol.value_or(GradcheckTolerance<T>::rtol);
    check_options(o, given.size());
    for (std::size_t i = 0; i < given.size(); ++i) {
      if (!given[i].defined()) throw Error("gradcheck: input " + std::to_string(i) + " is undefined");
      inputs.emplace_back(given[i].value(), given[i].requires_grad());
      names.push_back(o.input_names.empty() ? std::to_string(i) : o.input_names[i]);
      if (given[i].requires_grad())
        checked.push_back(i);
      else
        report.skipped.push_back(names.back());
    }
    if (checked.empty()) throw Error("gradcheck: no input requires grad, so there is nothing to check");
  }

  void check_options(const GradcheckOptions& o, std::size_t n_inputs) const {
    if (!std::is_same_v<T, double> && !o.allow_float)
      throw Error("gradcheck " + o.name + ": the inputs are float32, whose central differences resolve about two "
                  "digits (float's tolerances, 1e-2, pass a backward 0.5 % off); check in float64, or set "
                  "GradcheckOptions::allow_float to accept that");
    if (!o.input_names.empty() && o.input_names.size() != n_inputs)
      throw Error("gradcheck " + o.name + ": " + std::to_string(o.input_names.size()) + " input names for " +
                  std::to_string(n_inputs) + " inputs");
  }

  InputCheck new_check(std::size_t i) const {
    InputCheck check;
    check.input = i;
    check.name = names[i];
    check.shape = inputs[i].shape();
    return check;
  }

  // Recording stays on: gradgradcheck's function differentiates inside f.
  xt::xarray<T> value_at_inputs() { return f(inputs).value(); }

  // Σ_j seed_j ∂y_j/∂x for every checked input (zeros where y does not depend on it).
  std::vector<Tensor<T>> analytic_vjp(const Tensor<T>& y, const Tensor<T>& seed) {
    std::vector<Tensor<T>> targets;
    for (auto i : checked) targets.push_back(inputs[i]);
    if (!y.requires_grad()) {
      std::vector<Tensor<T>> zero;
      for (auto& t : targets) zero.push_back(zeros<T>(t.shape()));
      return zero;
    }
    return grad<T>({y}, targets, {seed}, /*retain_graph=*/true, /*create_graph=*/false, /*allow_unused=*/true);
  }

  // (f(x + eps d) - f(x - eps d)) / 2eps, perturbing input i along d in place.
  xt::xarray<T> central_difference(std::size_t i, const xt::xarray<T>& direction) {
    auto& value = inputs[i].mutable_value();
    const xt::xarray<T> original = value;
    const T eps = static_cast<T>(report.eps);
    value = original + eps * direction;
    xt::xarray<T> plus = value_at_inputs();
    value = original - eps * direction;
    xt::xarray<T> minus = value_at_inputs();
    value = original;
    return (plus - minus) / (T(2) * eps);
  }

  // An element passes when |analytic - numeric| <= atol + rtol |numeric|. The
  // worst element is ranked by error / tolerance, not by the raw error: a 1e-4
  // error on a zero entry fails where a 1e-3 error on an entry of 1000 passes.
  void compare(InputCheck& check, bool first, std::size_t out_index, std::size_t in_index, double analytic,
               double numeric) {
    const Tolerance tolerance{.rtol = report.rtol, .atol = report.atol};
    const double error = std::abs(analytic - numeric);
    if (!tolerance.accepts(analytic, numeric)) check.passed = false;  // NaN fails too
    const double used = tolerance.share_used(analytic, numeric);
    if (first || used > check.tolerance_used) {
      check.tolerance_used = used;
      check.worst_output = out_index;
      check.worst_element = in_index;
      check.analytic = analytic;
      check.numeric = numeric;
    }
    check.max_abs_error = std::max(check.max_abs_error, std::isnan(error) ? INFINITY : error);
    check.max_rel_error = std::max(check.max_rel_error, relative_error(analytic, numeric));
    if (analytic != 0 || numeric != 0) check.all_zero = false;
  }

  void full() {
    report.mode = "full Jacobian";
    Tensor<T> y = f(inputs);
    const std::size_t n_out = y.numel();
    std::vector<InputCheck> checks;
    // Analytic Jacobian, one row per output element.
    std::vector<std::vector<xt::xarray<T>>> rows;  // rows[j][c]
    for (std::size_t j = 0; j < n_out; ++j) {
      Tensor<T> seed = zeros<T>(y.shape());
      seed.mutable_data()[j] = T(1);
      std::vector<xt::xarray<T>> row;
      for (auto& g : analytic_vjp(y, seed)) row.push_back(g.value());
      rows.push_back(std::move(row));
    }
    for (std::size_t c = 0; c < checked.size(); ++c) {
      const std::size_t i = checked[c];
      InputCheck check = new_check(i);
      for (std::size_t k = 0; k < inputs[i].numel(); ++k) {
        xt::xarray<T> direction = xt::zeros<T>(inputs[i].shape());
        direction.data()[k] = T(1);
        const xt::xarray<T> column = central_difference(i, direction);
        for (std::size_t j = 0; j < n_out; ++j)
          compare(check, j == 0 && k == 0, j, k, rows[j][c].data()[k], column.data()[j]);
      }
      report.inputs.push_back(check);
    }
  }

  void fast(std::uint64_t seed) {
    report.mode = "fast (random projection)";
    Generator gen(seed);
    Tensor<T> y = f(inputs);
    Tensor<T> v = randn<T>(y.shape(), gen);
    const auto vjp = analytic_vjp(y, v);
    for (std::size_t c = 0; c < checked.size(); ++c) {
      const std::size_t i = checked[c];
      const xt::xarray<T> u = randn<T>(inputs[i].shape(), gen).value();
      const double analytic = xt::sum(vjp[c].value() * u)();
      const double numeric = xt::sum(central_difference(i, u) * v.value())();
      InputCheck check = new_check(i);
      compare(check, true, 0, 0, analytic, numeric);
      report.inputs.push_back(check);
    }
  }
};

template <class T>
GradcheckReport run_check(const Function<T>& f, const std::vector<Tensor<T>>& inputs, const GradcheckOptions& options,
                          bool second_order) {
  GradModeGuard recording(true);
  Checker<T> checker(f, inputs, options);
  checker.report.second_order = second_order;
  if (options.fast_mode)
    checker.fast(options.seed);
  else
    checker.full();
  return checker.report;
}

}  // namespace

template <class T>
GradcheckReport gradcheck(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs,
                          const GradcheckOptions& options) {
  return run_check<T>(f, inputs, options, false);
}

// Second derivatives: the first derivative, contracted with a fixed random v,
// is itself a function of the inputs; gradcheck that function.
//   g(x) = concat_c vec( ∂(vᵀ f(x)) / ∂x_c )
template <class T>
GradcheckReport gradgradcheck(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs,
                              const GradcheckOptions& options) {
  GradModeGuard recording(true);
  { const Checker<T> validate(f, inputs, options); }  // the option and input errors, before f runs
  const Tensor<T> probe = f(inputs);
  Generator gen(options.seed + 1);
  const Tensor<T> v = randn<T>(probe.shape(), gen);
  Function<T> first_derivative = [&f, v](const std::vector<Tensor<T>>& xs) {
    std::vector<Tensor<T>> targets;
    for (const auto& x : xs)
      if (x.requires_grad()) targets.push_back(x);
    const Tensor<T> y = f(xs);
    std::vector<Tensor<T>> parts;
    if (!y.requires_grad()) {
      for (const auto& t : targets) parts.push_back(zeros<T>({t.numel()}));
    } else {
      for (auto& g : grad<T>({y}, targets, {v}, true, /*create_graph=*/true, true))
        parts.push_back(reshape(g, {g.numel()}));
    }
    return concat(parts, 0);
  };
  return run_check<T>(first_derivative, inputs, options, true);
}

#define REWIND_INSTANTIATE(T)                                                                                           \
  template GradcheckReport gradcheck<T>(const std::type_identity_t<Function<T>>&, const std::vector<Tensor<T>>&, \
                                        const GradcheckOptions&);                                                \
  template GradcheckReport gradgradcheck<T>(const std::type_identity_t<Function<T>>&,                            \
                                            const std::vector<Tensor<T>>&, const GradcheckOptions&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
