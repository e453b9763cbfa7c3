// to_dot: the recorded graph as Graphviz DOT. Checked on its structure (nodes,
// labels, edges), not its layout, so that grouping nodes differently (e.g. into
// one cluster per time step) keeps these tests valid.
#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// The DOT id of the node whose label starts with `label` (the text before " [label=").
std::string id_of(const std::string& dot, const std::string& label) {
  std::istringstream lines(dot);
  for (std::string line; std::getline(lines, line);)
    if (line.find("[label=\"" + label) != std::string::npos) {
      const auto begin = line.find_first_not_of(' ');
      return line.substr(begin, line.find(' ', begin) - begin);
    }
  return "";
}

}  // namespace

TEST_SUITE("dot") {
  TEST_CASE("three unrolled steps sharing one weight: one node for the weight, an edge to each use") {
    // h_t = tanh(w * x_t + h_{t-1}), t = 1..3, h_0 = 0: ops mul, add, tanh per step.
    const auto w = TensorD::scalar(0.5, true);
    TensorD h = TensorD::scalar(0.0);
    std::vector<TensorD> xs;
    for (double v : {1.0, 2.0, 3.0}) xs.push_back(TensorD::scalar(v));
    for (const auto& x : xs) h = tanh(w * x + h);
    DotOptions options;
    options.labels[w.id()] = "W";
    options.labels[h.id()] = "h_3";
    const std::string dot = to_dot<double>({h}, options);
    INFO(dot);

    CHECK(dot.rfind("digraph tape {", 0) == 0);
    CHECK(dot.substr(dot.size() - 2) == "}\n");
    CHECK(count(dot, "[label=\"W") == 1);     // one node for the weight, however often used
    CHECK(count(dot, "[label=\"tanh") == 2);  // the third tanh carries the label h_3
    CHECK(count(dot, "[label=\"h_3") == 1);
    CHECK(count(dot, "[label=\"mul") == 3);
    CHECK(count(dot, "[label=\"add") == 3);
    CHECK(count(dot, "shape=ellipse") == 5);  // leaves: W, x_1..x_3, h_0
    CHECK(count(dot, "shape=box") == 9);      // the ops
    const std::string weight = id_of(dot, "W");
    REQUIRE(!weight.empty());
    CHECK(count(dot, weight + " -> ") == 3);  // W feeds each step's mul
    CHECK(count(dot, " -> ") == 3 * 2 + 3 * 2 + 3);  // mul and add have two inputs, tanh one
    CHECK(dot.find("fillcolor") != std::string::npos);  // labelled nodes are highlighted
    CHECK(count(dot, "\\n[]") == 14);                  // every node shows its (0-D) shape
  }

  TEST_CASE("dashed edges, the graph name and shapes off") {
    const auto w = TensorD::scalar(2.0, true);
    const auto y = w * w;
    DotOptions options;
    options.graph_name = "cell";
    options.show_shapes = false;
    options.dashed_edges.push_back({y.id(), w.id()});
    const std::string dot = to_dot<double>({y}, options);
    INFO(dot);
    CHECK(dot.rfind("digraph cell {", 0) == 0);
    CHECK(count(dot, "style=dashed, label=\"D\"") == 1);
    CHECK(count(dot, "\\n[") == 0);
    CHECK(count(dot, " -> ") == 3);  // w twice into mul, and the dashed one
  }

  TEST_CASE("a graph thousands of steps deep is exported (iteratively)") {
    auto h = TensorD::scalar(0.1, true);
    for (int t = 0; t < 20000; ++t) h = tanh(h);
    CHECK(count(to_dot<double>({h}), "[label=\"tanh") == 20000);
  }
}
