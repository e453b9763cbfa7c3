// Leak-free long runs (issue 14): 10,000 training steps at small sizes of an
// LSTM (Adam, gradient clipping) and of a custom cell (the minimal gated unit
// of examples/), each with the heap bytes in use and the live tape nodes the
// same after step 100 and after the last step. Heap bytes come from glibc's
// mallinfo2 (bytes in allocated chunks, plus mmapped ones), or from ASan's
// allocator in the sanitizer build, whose run is 2,000 steps to keep the
// suite's time (the sanitizer build's LeakSanitizer checks every test at exit).
#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

#include "../examples/minimal_gated_unit.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/allocator_interface.h>
constexpr std::size_t kSteps = 2000;
#else
constexpr std::size_t kSteps = 10000;
#endif

using namespace rwd;

namespace {

std::size_t heap_in_use() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#endif
}

struct Usage {
  std::size_t heap = 0;
  std::int64_t nodes = 0;
};

// Runs `step` kSteps times; the usage after step 100 and after the last.
std::pair<Usage, Usage> usage_over_run(const std::function<void()>& step) {
  Usage at_100, at_end;
  for (std::size_t k = 1; k <= kSteps; ++k) {
    step();
    if (k == 100) at_100 = {heap_in_use(), detail::live_nodes()};
  }
  at_end = {heap_in_use(), detail::live_nodes()};
  return {at_100, at_end};
}

}  // namespace

TEST_SUITE("long_run") {
  TEST_CASE("an LSTM trained with Adam and clipping: heap bytes and live nodes flat from step 100 on") {
    Generator gen(3);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 4}, gen);
    nn::Linear<double> head(4, 1, true, gen);
    auto params = lstm.parameters();
    for (auto& p : head.parameters()) params.push_back(p);
    optim::Adam<double> adam(params, {.lr = 1e-3});
    const auto x = randn<double>({5, 2, 2}, gen), y = randn<double>({5, 2, 1}, gen);
    const std::int64_t nodes_before = detail::live_nodes();
    const auto [at_100, at_end] = usage_over_run([&] {
      adam.zero_grad();
      auto [output, h_n, c_n] = lstm.forward(x);
      nn::mse_loss(head.forward(output), y).backward();
      optim::clip_grad_norm_(params, 0.5);
      adam.step();
    });
    CHECK(at_end.heap == at_100.heap);
    CHECK(at_end.nodes == at_100.nodes);
    CHECK(at_end.nodes == nodes_before);  // no tape outlives its step
    CHECK(adam.state(0, 0).step == static_cast<std::int64_t>(kSteps));  // every step updated (the run is not a no-op)
  }

  TEST_CASE("a custom cell (the minimal gated unit) trained with SGD: heap bytes and live nodes flat") {
    Generator gen(4);
    nn::Recurrent<double> model({.input_size = 2, .hidden_size = 3},
                                [&](std::size_t input) { return std::make_shared<MinimalGatedUnit>(input, 3, gen); });
    optim::SGD<double> sgd(model.parameters(), {.lr = 0.01, .momentum = 0.9});
    const auto x = randn<double>({4, 2, 2}, gen);
    const double loss_before = mean(model.forward(x).output * model.forward(x).output).item();
    const std::int64_t nodes_before = detail::live_nodes();
    const auto [at_100, at_end] = usage_over_run([&] {
      sgd.zero_grad();
      const auto output = model.forward(x).output;
      mean(output * output).backward();
      sgd.step();
    });
    CHECK(at_end.heap == at_100.heap);
    CHECK(at_end.nodes == at_100.nodes);
    CHECK(at_end.nodes == nodes_before);
    CHECK(mean(model.forward(x).output * model.forward(x).output).item() < loss_before);  // it trained
  }
}
