// One-line gradient checks in doctest: include doctest first, then this.
//   CHECK_GRAD(f, {x, w});             CHECK_GRADGRAD(f, {x, w}, options);
// On failure doctest prints the whole gradcheck report, warnings included (a
// pass with warnings passes: assert on report.warnings() where they matter).
#pragma once

#include "gradcheck.hpp"

#define CHECK_GRAD(...)                                                  \
  do {                                                                   \
    const auto rewind_report_ = ::rwd::gradcheck(__VA_ARGS__);        \
    CHECK_MESSAGE(rewind_report_.passed(), rewind_report_.to_string());  \
  } while (false)

#define CHECK_GRADGRAD(...)                                              \
  do {                                                                   \
    const auto rewind_report_ = ::rwd::gradgradcheck(__VA_ARGS__);    \
    CHECK_MESSAGE(rewind_report_.passed(), rewind_report_.to_string());  \
  } while (false)
