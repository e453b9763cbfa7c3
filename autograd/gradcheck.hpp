// Gradient checking: the tape's gradients against central finite differences.
//
//   auto report = rwd::gradcheck(f, {x, w});   // f: inputs -> Tensor
//   std::cout << report;                           // a readable table
//   if (!report.passed()) ...
//
// Each input that requires grad is checked; the others are listed as skipped.
// Check in float64: a float32 check is an error unless options.allow_float
// says the caller accepts its tolerances. Full mode builds both Jacobians
// (one backward per output element, two forwards per input element); fast
// mode compares one random projection vᵀ J u per input, cheap for large
// inputs. gradgradcheck checks second derivatives the same way, through
// grad(..., create_graph=true).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "tensor.hpp"
#include "tolerance.hpp"

namespace rwd {

struct GradcheckOptions {
  std::optional<double> eps, atol, rtol;  // unset: the per-dtype defaults below
  bool fast_mode = false;
  std::uint64_t seed = 0;  // for the random projections (fast mode, gradgradcheck)
  std::string name = "function";
  // Names of the inputs, in order, printed in the report (empty: their positions).
  std::vector<std::string> input_names;
  // float32 central differences resolve about two digits, so float's tolerances
  // (1e-2) let a backward 0.5 % off pass: a float check throws unless this is set.
  bool allow_float = false;
};

// Default tolerances: an element passes when |analytic - numeric| <= atol + rtol |numeric|.
//   double: eps 1e-6, atol 1e-5, rtol 1e-3 (PyTorch's gradcheck defaults)
//   float:  eps 1e-2, atol 1e-2, rtol 1e-2 (float's 7 digits leave less room; only with allow_float)
template <class T>
struct GradcheckTolerance;
template <>
struct GradcheckTolerance<double> {
  static constexpr double eps = 1e-6, atol = 1e-5, rtol = 1e-3;
};
template <>
struct GradcheckTolerance<float> {
  static constexpr double eps = 1e-2, atol = 1e-2, rtol = 1e-2;
};

struct InputCheck {
  std::size_t input = 0;  // position in the inputs list
  std::string name;       // options.input_names[input], or the position
  Shape shape;
  double max_abs_error = 0, max_rel_error = 0;
  // The worst element: the one whose error uses up the largest share of its
  // tolerance, error / (atol + rtol |numeric|) (> 1 fails). Flat (row-major)
  // indices of the output and input element; fast mode checks one projection,
  // so both are 0 there.
  std::size_t worst_output = 0, worst_element = 0;
  double analytic = 0, numeric = 0;  // the two values there
  double tolerance_used = 0;         // its error / (atol + rtol |numeric|)
  bool passed = true;
  // Every analytic and numeric entry was exactly 0: the check proved nothing
  // (e.g. f ignores this input, using a captured tensor instead of in[i]).
  bool all_zero = true;
};

struct GradcheckReport {
  std::string name, mode;
  std::string precision;      // "float64" or "float32"
  bool second_order = false;  // from gradgradcheck
  double eps = 0, atol = 0, rtol = 0;
  std::vector<InputCheck> inputs;  // the checked inputs
  std::vector<std::string> skipped;  // names of the inputs that do not require grad, not checked
  bool passed() const;
  // One line per thing a pass does not prove: all-zero inputs, skipped inputs. Printed by to_string.
  std::vector<std::string> warnings() const;
  std::string to_string() const;
};
std::ostream& operator<<(std::ostream& out, const GradcheckReport& report);


template <class T>
GradcheckReport gradcheck(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs,
                          const GradcheckOptions& options = {});

template <class T>
GradcheckReport gradgradcheck(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs,
                              const GradcheckOptions& options = {});

// gradcheck(f, {x, w}): a braced list deduces T (a std::vector parameter cannot).
template <class T>
GradcheckReport gradcheck(const std::type_identity_t<Function<T>>& f, std::initializer_list<Tensor<T>> inputs,
                          const GradcheckOptions& options = {}) {
  return gradcheck<T>(f, std::vector<Tensor<T>>(inputs), options);
}
template <class T>
GradcheckReport gradgradcheck(const std::type_identity_t<Function<T>>& f, std::initializer_list<Tensor<T>> inputs,
                              const GradcheckOptions& options = {}) {
  return gradgradcheck<T>(f, std::vector<Tensor<T>>(inputs), options);
}

}  // namespace rwd
