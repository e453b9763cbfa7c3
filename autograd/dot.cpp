#include "dot.hpp"

#include <map>
#include <set>
#include <sstream>

#include "node.hpp"

namespace rwd {

namespace {
// The tensors a tensor was computed from: its function's inputs (none for a
// leaf, or once backward has freed the record).
template <class T>
const std::vector<Tensor<T>>& inputs_of(const Tensor<T>& t) {
  static const std::vector<Tensor<T>> none;
  const detail::Function<T>* fn = detail::function_of(t);
  return fn ? fn->inputs : none;
}

std::string node_id(const void* p) {
  std::ostringstream out;
  out << "n" << reinterpret_cast<std::uintptr_t>(p);
  return out.str();
}

// Which cluster each node is in (see DotOptions::clusters); nodes of no cluster are absent.
template <class T>
std::map<const void*, std::size_t> cluster_members(const std::vector<Tensor<T>>& outputs, const DotOptions& options) {
  std::map<const void*, std::size_t> member;
  if (options.clusters.empty()) return member;
  std::map<const void*, Tensor<T>> by_id;  // every node of the graph, by id
  std::vector<Tensor<T>> pending(outputs.begin(), outputs.end());
  while (!pending.empty()) {
    Tensor<T> t = pending.back();
    pending.pop_back();
    if (!t.defined() || !by_id.emplace(t.id(), t).second) continue;
    for (const auto& input : inputs_of(t)) pending.push_back(input);
  }
  const std::set<const void*> outside(options.outside.begin(), options.outside.end());
  for (std::size_t c = 0; c < options.clusters.size(); ++c) {
    std::vector<const void*> todo(options.clusters[c].roots.begin(), options.clusters[c].roots.end());
    while (!todo.empty()) {
      const void* id = todo.back();
      todo.pop_back();
      auto it = by_id.find(id);
      if (it == by_id.end() || member.count(id) || outside.count(id)) continue;
      if (it->second.is_leaf() && it->second.requires_grad()) continue;  // a weight: shared, outside every cluster
      member[id] = c;
      for (const auto& input : inputs_of(it->second)) todo.push_back(input.id());
    }
  }
  return member;
}

}  // namespace

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const DotOptions& options) {
  const auto member = cluster_members(outputs, options);
  std::vector<std::ostringstream> cluster_nodes(options.clusters.size());
  std::ostringstream out;
  out << "digraph " << options.graph_name << " {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  std::set<const void*> seen;
  std::vector<Tensor<T>> pending(outputs.begin(), outputs.end());  // iterative: unrolled graphs are deep
  while (!pending.empty()) {
    Tensor<T> t = pending.back();
    pending.pop_back();
    if (!t.defined() || !seen.insert(t.id()).second) continue;
    const detail::Function<T>* fn = detail::function_of(t);
    auto label = options.labels.find(t.id());
    std::string text = label != options.labels.end() ? label->second : std::string(t.op_name());
    if (options.show_shapes) text += "\\n" + format_shape(t.shape());
    const bool leaf = !fn || fn->released;
    const auto cluster = member.find(t.id());
    std::ostream& node_out = cluster == member.end() ? static_cast<std::ostream&>(out) : cluster_nodes[cluster->second];
    node_out << "  " << node_id(t.id()) << " [label=\"" << text << "\", shape=" << (leaf ? "ellipse" : "box")
             << (label != options.labels.end() ? ", style=filled, fillcolor=\"#dde8f7\"" : "") << "];\n";
    for (const auto& input : inputs_of(t)) {
      const auto from = member.find(input.id());
      const bool delay = cluster != member.end() && from != member.end() && from->second != cluster->second;
      out << "  " << node_id(input.id()) << " -> " << node_id(t.id())
          << (delay ? " [style=bold, color=\"#c04020\", label=\"" + options.delay_label + "\"]" : std::string()) << ";\n";
      pending.push_back(input);
    }
  }
  for (std::size_t c = 0; c < options.clusters.size(); ++c)
    out << "  subgraph cluster_" << c << " {\n    label=\"" << options.clusters[c].label
        << "\";\n    style=rounded;\n    color=\"#909090\";\n"
        << cluster_nodes[c].str() << "  }\n";
  for (const auto& [from, to] : options.dashed_edges)
    out << "  " << node_id(from) << " -> " << node_id(to) << " [style=dashed, label=\"" << options.dashed_label
        << "\", constraint=false];\n";
  out << "}\n";
  return out.str();
}

template std::string to_dot<float>(const std::vector<Tensor<float>>&, const DotOptions&);
template std::string to_dot<double>(const std::vector<Tensor<double>>&, const DotOptions&);

}  // namespace rwd
