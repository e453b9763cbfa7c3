// When a computed gradient is close enough to a reference: the one rule that
// gradcheck (analytic against numeric) and the gradient reports (the tape
// against a hand-derived BPTT) both apply, and the one relative error both print.
#pragma once

namespace rwd {

// An element passes when |value - reference| <= atol + rtol |reference|; NaN never does.
struct Tolerance {
  double rtol = 1e-9, atol = 1e-12;

  bool accepts(double value, double reference) const;
  // The share of its allowance the error uses, |value - reference| / (atol + rtol |reference|):
  // above 1 fails. Infinite for NaN, or for any error when the allowance is 0.
  double share_used(double value, double reference) const;
};

// |value - reference| / max(|value|, |reference|): 0 where both are 0, infinite for NaN.
double relative_error(double value, double reference);

}  // namespace rwd
