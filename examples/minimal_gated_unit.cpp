// A user-defined recurrent cell (examples/minimal_gated_unit.hpp) stacked in
// two bidirectional layers by nn::Recurrent, run on sequences of different
// lengths, trained one step by hand, and gradient-checked.
#include <iostream>

#include <rewind/rewind.hpp>

#include "minimal_gated_unit.hpp"

int main() {
  const std::size_t input_size = 3, hidden_size = 4;
  rwd::Generator gen(42);
  rwd::nn::Recurrent<double> model(
      {.input_size = input_size, .hidden_size = hidden_size, .num_layers = 2, .bidirectional = true},
      [&](std::size_t layer_input_size) {
        return std::make_shared<MinimalGatedUnit<double>>(layer_input_size, hidden_size, gen);
      });
  std::cout << model.to_string() << "\n";

  const rwd::TensorD x = rwd::randn<double>({5, 2, input_size}, gen, /*requires_grad=*/true);  // [T, B, I]
  const std::vector<std::size_t> lengths{5, 3};  // the second sequence ends after 3 steps
  auto [output, final_state] = model.forward(x, {}, lengths);
  std::cout << "output " << rwd::format_shape(output.shape()) << ", h_n " << rwd::format_shape(final_state[0].shape())
            << "\n";

  // Backpropagation through time, then one plain gradient-descent step.
  const rwd::TensorD loss = rwd::mean(output * output);
  loss.backward();
  for (auto& weight : model.parameters()) {
    weight.mutable_value() -= 0.1 * weight.grad().value();
    weight.zero_grad();
  }
  std::cout << "loss " << loss.item() << " -> " << rwd::mean(rwd::pow(model.forward(x, {}, lengths).output, 2.0)).item()
            << "\n";

  // The tape's gradient of the whole unrolled model against finite differences.
  const auto report = rwd::gradcheck<double>(
      [&](const std::vector<rwd::TensorD>& in) { return model.forward(in[0], {}, lengths).output; }, {x});
  std::cout << report;
  return report.passed() ? 0 : 1;
}
