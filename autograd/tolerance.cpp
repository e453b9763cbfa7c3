#include "tolerance.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace rwd {

namespace {
constexpr double infinity = std::numeric_limits<double>::infinity();
}  // namespace

bool Tolerance::accepts(double value, double reference) const {
  return std::abs(value - reference) <= atol + rtol * std::abs(reference);  // false for NaN
}

double Tolerance::share_used(double value, double reference) const {
  const double error = std::abs(value - reference), allowed = atol + rtol * std::abs(reference);
  if (std::isnan(error)) return infinity;
  return allowed > 0 ? error / allowed : error > 0 ? infinity : 0.0;
}

double relative_error(double value, double reference) {
  const double error = std::abs(value - reference), scale = std::max(std::abs(value), std::abs(reference));
  if (std::isnan(error)) return infinity;
  return scale > 0 ? error / scale : 0.0;
}

}  // namespace rwd
