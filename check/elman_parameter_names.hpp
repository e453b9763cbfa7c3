// Not installed: the Elman reference's name for a PyTorch-named parameter,
// shared by elman_model_from_parameters and compare_with_reference.
#pragma once

#include <cstddef>
#include <string>

namespace rwd::nn::detail {

enum class ElmanRole { U, W, b, V, c };

struct ElmanName {
  ElmanRole role;
  std::size_t layer;
};

// weight_ih_l<n> -> U of layer n, weight_hh_l<n> -> W, bias_ih_l<n>/bias_hh_l<n> -> b,
// a readout weight/bias -> V, c; U, W, b, V, c as they are. Throws naming `op` otherwise.
ElmanName map_elman_name(const char* op, const std::string& name);

}  // namespace rwd::nn::detail
