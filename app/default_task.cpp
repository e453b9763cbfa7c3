// The main job (no subcommand). For now: a 2-layer tanh RNN written from
// primitive ops, unrolled over 20 steps, backpropagated through time, and the
// tape's gradient of every weight checked against finite differences.
#include <fmt/core.h>

#include <rewind/rewind.hpp>

#include "commands.hpp"

namespace rwd::app {

int run_default_task() {
  using T = double;
  const std::size_t steps = 20, batch = 2, input_size = 3, hidden_size = 4;
  Generator gen(7);
  std::vector<Tensor<T>> xs;
  for (std::size_t t = 0; t < steps; ++t) xs.push_back(randn<T>({batch, input_size}, gen));
  const Tensor<T> target = randn<T>({batch, 1}, gen);
  const T scale = 0.5;
  std::vector<Tensor<T>> weights = {
      uniform<T>({hidden_size, input_size}, -scale, scale, gen, true),   // layer 0 W_ih
      uniform<T>({hidden_size, hidden_size}, -scale, scale, gen, true),  // layer 0 W_hh
      uniform<T>({hidden_size}, -scale, scale, gen, true),               // layer 0 b
      uniform<T>({hidden_size, hidden_size}, -scale, scale, gen, true),  // layer 1 W_ih
      uniform<T>({hidden_size, hidden_size}, -scale, scale, gen, true),  // layer 1 W_hh
      uniform<T>({hidden_size}, -scale, scale, gen, true),               // layer 1 b
      uniform<T>({1, hidden_size}, -scale, scale, gen, true),            // readout V
  };
  // h¹_t = tanh(x_t W_ih¹ᵀ + h¹_{t-1} W_hh¹ᵀ + b¹),  h²_t likewise on h¹_t,  L = mean((h²_T Vᵀ - y)²)
  auto loss_of = [&](const std::vector<Tensor<T>>& w) {
    Tensor<T> h1 = zeros<T>({batch, hidden_size}), h2 = zeros<T>({batch, hidden_size});
    for (const auto& x : xs) {
      h1 = tanh(linear(x, w[0], w[2]) + matmul(h1, w[1], false, true));
      h2 = tanh(linear(h1, w[3], w[5]) + matmul(h2, w[4], false, true));
    }
    return mean(pow(matmul(h2, w[6], false, true) - target, 2.0));
  };
  fmt::print("A 2-layer tanh RNN from primitive ops, unrolled over {} steps: the tape against finite differences\n\n",
             steps);
  GradcheckOptions options;
  options.name = "2-layer RNN, T=20";
  const auto report = gradcheck<T>(loss_of, weights, options);
  fmt::print("{}\n", report.to_string());
  return report.passed() ? 0 : 1;
}

}  // namespace rwd::app
