// Every op of autograd/ops.hpp as a table of gradient checks: a name, how each
// input is drawn, and the function. The doctest suite `ops` (tests/test_ops.cpp)
// and `rewind gradcheck` both check this one table, in double precision,
// first and second order. Inputs keep clear of kinks (relu/abs at 0, clamp
// bounds) and singularities (log/sqrt/div near 0).
//
// Used by the tests and the program; not installed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "random.hpp"
#include "tensor.hpp"

namespace rwd {

// How one input is drawn: uniform in [low, high), then pushed at least 0.1
// away from each point in `avoid`; requires_grad false for a constant (a mask).
struct OpInput {
  Shape shape;
  double low = -1.0, high = 1.0;
  std::vector<double> avoid = {};
  bool requires_grad = true;
};

struct OpCase {
  std::string name;
  std::vector<OpInput> inputs;
  Function<double> f;
  bool second_order = true;  // also gradgradcheck (cheap; zero second derivatives must check out too)
};

// The cases of one kind of op, and the Generator seed of the first (case k draws from seed + k).
struct OpGroup {
  std::string name;  // arithmetic | elementwise | reductions | shape | matmul | normalization
  std::uint64_t seed = 0;
  std::vector<OpCase> cases;
};

std::vector<OpGroup> op_catalog();

// One input drawn as `spec` says.
Tensor<double> draw(const OpInput& spec, Generator& gen);

}  // namespace rwd
