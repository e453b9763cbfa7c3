// The recorded graph as Graphviz DOT: one box per op, one ellipse per leaf,
// edges from inputs to the op that consumed them. Names given in `labels`
// (tensor id -> name) are shown on their nodes, so a caller can mark weights,
// inputs and hidden states.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tensor.hpp"

namespace rwd {

struct DotOptions {
  std::string graph_name = "tape";
  std::map<const void*, std::string> labels;
  // Extra edges drawn dashed, e.g. the delay D from h_t back to h_{t-1} in the compact view of a cell.
  std::vector<std::pair<const void*, const void*>> dashed_edges;
  std::string dashed_label = "D";
  bool show_shapes = true;
};

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const DotOptions& options = {});

}  // namespace rwd
