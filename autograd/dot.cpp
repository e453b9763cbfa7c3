#include "dot.hpp"

#include <set>
#include <sstream>

namespace rwd {

namespace {
std::string node_id(const void* p) {
  std::ostringstream out;
  out << "n" << reinterpret_cast<std::uintptr_t>(p);
  return out.str();
}
}  // namespace

template <class T>
std::string to_dot(const std::vector<Tensor<T>>& outputs, const DotOptions& options) {
  std::ostringstream out;
  out << "digraph " << options.graph_name << " {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=10];\n";
  std::set<const void*> seen;
  std::vector<Tensor<T>> pending(outputs.begin(), outputs.end());  // iterative: unrolled graphs are deep
  while (!pending.empty()) {
    Tensor<T> t = pending.back();
    pending.pop_back();
    if (!t.defined() || !seen.insert(t.id()).second) continue;
    const auto& node = *t.node();
    auto label = options.labels.find(t.id());
    std::string text = label != options.labels.end() ? label->second : std::string(node.op);
    if (options.show_shapes) text += "\\n" + format_shape(t.shape());
    const bool leaf = node.is_leaf || node.released;
    out << "  " << node_id(t.id()) << " [label=\"" << text << "\", shape=" << (leaf ? "ellipse" : "box")
        << (label != options.labels.end() ? ", style=filled, fillcolor=\"#dde8f7\"" : "") << "];\n";
    for (const auto& input : node.inputs) {
      out << "  " << node_id(input.id()) << " -> " << node_id(t.id()) << ";\n";
      pending.push_back(input);
    }
  }
  for (const auto& [from, to] : options.dashed_edges)
    out << "  " << node_id(from) << " -> " << node_id(to) << " [style=dashed, label=\"" << options.dashed_label
        << "\", constraint=false];\n";
  out << "}\n";
  return out.str();
}

template std::string to_dot<float>(const std::vector<Tensor<float>>&, const DotOptions&);
template std::string to_dot<double>(const std::vector<Tensor<double>>&, const DotOptions&);

}  // namespace rwd
