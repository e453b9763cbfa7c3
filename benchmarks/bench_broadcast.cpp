// Broadcasting: one elementwise op (x - m) for each broadcast pattern beside
// the equal-shape op of the same size, and the un-broadcast pair sum_to /
// expand for each pattern, at [1,32], [16,512] and [64,1024] in float. Rows:
//   broadcast/f32/16x512/sub/equal   x [16,512] - y [16,512]
//   …/sub/scalar  m 0-D      …/sub/row  m [512]     …/sub/column  m [16,1]
//   …/sub/middle  x seen as [16,8,64], m [16,1,64]  …/sub/both  [16,1] - [1,512]
//   …/sum_to/<pattern>   a [16,512] gradient reduced to m's shape
//   …/expand/<pattern>   m broadcast to [16,512]
// No input requires grad: each row times the op's value and its tape node.
#include <rewind/rewind.hpp>

#include <string>

#include "bench_common.hpp"

namespace rwd::bench {

namespace {

struct Pattern {
  const char* name;
  Shape x, m;  // the full operand and the broadcast one
};

std::vector<Pattern> patterns(std::size_t rows, std::size_t cols) {
  return {{"equal", {rows, cols}, {rows, cols}},
          {"scalar", {rows, cols}, {}},
          {"row", {rows, cols}, {cols}},
          {"column", {rows, cols}, {rows, 1}},
          {"middle", {rows, 8, cols / 8}, {rows, 1, cols / 8}},
          {"both", {rows, 1}, {1, cols}}};
}

void sub_row(benchmark::State& state, Pattern p) {
  Generator gen(1);
  const auto x = randn<float>(p.x, gen), m = randn<float>(p.m, gen);
  for (auto _ : state) benchmark::DoNotOptimize(x - m);
}

void sum_to_row(benchmark::State& state, Pattern p) {
  Generator gen(1);
  const auto g = randn<float>(broadcast_shapes("bench", p.x, p.m), gen);
  for (auto _ : state) benchmark::DoNotOptimize(sum_to(g, p.m));
}

void expand_row(benchmark::State& state, Pattern p) {
  Generator gen(1);
  const auto m = randn<float>(p.m, gen);
  const Shape to = broadcast_shapes("bench", p.x, p.m);
  for (auto _ : state) benchmark::DoNotOptimize(expand(m, to));
}

}  // namespace

void register_broadcast() {
  for (auto [rows, cols] : {std::pair<std::size_t, std::size_t>{1, 32}, {16, 512}, {64, 1024}}) {
    const std::string size = "broadcast/f32/" + std::to_string(rows) + "x" + std::to_string(cols) + "/";
    for (const Pattern& p : patterns(rows, cols)) {
      benchmark::RegisterBenchmark((size + "sub/" + p.name).c_str(), sub_row, p)->Unit(benchmark::kMicrosecond);
      // sum_to and expand of an equal shape return their input; "both" is the column and row cases.
      const std::string name = p.name;
      if (name == "equal" || name == "both") continue;
      benchmark::RegisterBenchmark((size + "sum_to/" + name).c_str(), sum_to_row, p)->Unit(benchmark::kMicrosecond);
      benchmark::RegisterBenchmark((size + "expand/" + name).c_str(), expand_row, p)->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace rwd::bench
