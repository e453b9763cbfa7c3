// to_dot's structure (autograd/dot.hpp): one node per weight, step clusters,
// the delay edges between them, the compact view's dashed D edge.
#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The text of "subgraph cluster_<c> { ... }".
std::string cluster_text(const std::string& dot, std::size_t c) {
  const std::size_t begin = dot.find("subgraph cluster_" + std::to_string(c) + " {");
  if (begin == std::string::npos) return {};
  return dot.substr(begin, dot.find("\n  }\n", begin) - begin);
}

}  // namespace

TEST_SUITE("dot_clusters") {
  TEST_CASE("unrolled: a cluster per step, the shared weights outside all, delay edges between steps") {
    // h_t = tanh(x_t W + h_{t-1} U), three steps, on the tape
    const TensorD W(xt::xarray<double>{{0.1, 0.2}}, true), U(xt::xarray<double>{{0.3, 0.4}, {0.5, 0.6}}, true);
    TensorD h(xt::xarray<double>{{0.0, 0.0}});
    DotOptions options;
    options.labels[W.id()] = "W";
    options.labels[U.id()] = "U";
    options.labels[h.id()] = "h_0";
    options.outside.push_back(h.id());
    for (int t = 1; t <= 3; ++t) {
      xt::xarray<double> x_value = xt::zeros<double>({1, 1});
      x_value(0, 0) = t;
      const TensorD x(x_value);
      options.labels[x.id()] = "x_" + std::to_string(t);
      h = tanh(matmul(x, W) + matmul(h, U));
      options.labels[h.id()] = "h_" + std::to_string(t);
      options.clusters.push_back({"t = " + std::to_string(t), {h.id()}});
    }
    const std::string dot = to_dot<double>({h}, options);
    INFO(dot);
    CHECK(count(dot, "subgraph cluster_") == 3);
    for (std::size_t c = 0; c < 3; ++c) {
      const std::string cluster = cluster_text(dot, c);
      CHECK(cluster.find("label=\"t = " + std::to_string(c + 1) + "\"") != std::string::npos);
      CHECK(cluster.find("label=\"x_" + std::to_string(c + 1)) != std::string::npos);  // the step's input inside
      CHECK(cluster.find("label=\"h_" + std::to_string(c + 1)) != std::string::npos);
      CHECK(count(cluster, "[label=") == 5);  // x_t, the 2 matmuls, add, tanh (h_t): the step and nothing else
      CHECK(cluster.find("label=\"W") == std::string::npos);
      CHECK(cluster.find("label=\"h_0") == std::string::npos);
    }
    // one node per weight (drawn once, outside the clusters), one h_0
    CHECK(count(dot, "label=\"W\\n") == 1);
    CHECK(count(dot, "label=\"U\\n") == 1);
    CHECK(count(dot, "label=\"h_0\\n") == 1);
    // the delays: h_1 -> step 2 and h_2 -> step 3, nothing else crosses
    CHECK(count(dot, "label=\"D\"]") == 2);
    CHECK(count(dot, "style=dashed") == 0);
  }

  TEST_CASE("compact: no clusters, the dashed D edge from h_t back to h_{t-1}") {
    const TensorD W(xt::xarray<double>(xt::ones<double>({1, 1})), true), h_prev(xt::xarray<double>(xt::ones<double>({1, 1})));
    const TensorD h = tanh(matmul(h_prev, W));
    DotOptions options;
    options.dashed_edges.emplace_back(h.id(), h_prev.id());
    const std::string dot = to_dot<double>({h}, options);
    CHECK(count(dot, "subgraph") == 0);
    CHECK(count(dot, "style=dashed, label=\"D\"") == 1);
  }
}
