// The recorded graph as Graphviz DOT: one box per op, one ellipse per leaf,
// edges from inputs to the op that consumed them. Names given in `labels`
// (tensor id -> name) are shown on their nodes, so a caller can mark weights,
// inputs and hidden states. Nodes can be grouped into clusters (one per time
// step of an unrolled recurrence); edges between two clusters are the delays.
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
  // Clusters, in order: cluster i ("subgraph cluster_<i>", titled label) holds
  // every node reachable backwards from its roots that no earlier cluster
  // holds, except leaves that require grad (the weights, shared by all) and
  // the nodes in `outside`. An edge from one cluster into another is drawn as
  // a delay (bold, labelled delay_label).
  struct Cluster {
    std::string label;
    std::vector<const void*> roots;
  };
  std::vector<Cluster> clusters;
  std::vector<const void*> outside;
  std::string delay_label = "D";
};

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const DotOptions& options = {});

}  // namespace rwd
