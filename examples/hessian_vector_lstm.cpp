// A Hessian-vector product through an LSTM (fused steps, the default), and a
// Jacobian-vector product of its output: rwd::hvp and rwd::jvp
// (autograd/functional.hpp). Each is checked against central differences;
// the program exits non-zero if either disagrees.
//
//   H v = ∂/∂w ⟨∇_w L(w), v⟩      (the gradient recorded with create_graph, then differentiated)
//   J t = ∂/∂u ⟨J_xᵀ u, t⟩        (the double-vjp trick: forward mode from two reverse passes)
#include <cmath>
#include <iostream>

#include <rewind/rewind.hpp>

using namespace rwd;

int main() {
  Generator gen(7);
  const nn::RecurrentOptions options{.input_size = 3, .hidden_size = 4};
  nn::LSTM<double> lstm(options, gen);
  const TensorD x = randn<double>({10, 2, 3}, gen), y = randn<double>({10, 2, 4}, gen);

  // L(w) = mean (h_t - y_t)² over the sequence, as a function of the LSTM's weights.
  const auto loss = [&](const std::vector<TensorD>& weights) {
    nn::LSTM<double> layer(options, weights);
    return mean(pow(layer.forward(x).output - y, 2.0));
  };
  const std::vector<TensorD> weights = lstm.parameters();
  std::vector<TensorD> v;
  for (const auto& w : weights) v.push_back(randn<double>(w.shape(), gen));
  const HvpResult<double> result = hvp<double>(loss, weights, v);

  // The same product from finite differences of the gradient: (∇L(w+εv) - ∇L(w-εv)) / 2ε.
  const double eps = 1e-5;
  auto gradient_at = [&](double sign) {
    std::vector<TensorD> moved;
    for (std::size_t i = 0; i < weights.size(); ++i)
      moved.push_back(TensorD(xt::xarray<double>(weights[i].value() + sign * eps * v[i].value()), true));
    return grad<double>({loss(moved)}, moved);
  };
  const auto plus = gradient_at(1), minus = gradient_at(-1);
  double worst = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const xt::xarray<double> numeric = (plus[i].value() - minus[i].value()) / (2 * eps);
    worst = std::max(worst, xt::amax(xt::abs(result.hvp[i].value() - numeric))());
  }
  std::cout << "L(w) = " << result.value.item() << "\nHessian-vector product through the LSTM: max |Hv - FD| = "
            << worst << "\n";

  // J t: how the LSTM's outputs move when its input moves along t.
  const TensorD t = randn<double>(x.shape(), gen);
  const auto outputs = [&](const std::vector<TensorD>& in) { return lstm.forward(in[0]).output; };
  const JvpResult<double> forward_mode = jvp<double>(outputs, {x}, {t});
  const xt::xarray<double> numeric =
      (lstm.forward(TensorD(xt::xarray<double>(x.value() + 1e-6 * t.value()))).output.value() -
       lstm.forward(TensorD(xt::xarray<double>(x.value() - 1e-6 * t.value()))).output.value()) /
      2e-6;
  const double jvp_error = xt::amax(xt::abs(forward_mode.jvp.value() - numeric))();
  std::cout << "Jacobian-vector product of the outputs: max |Jt - FD| = " << jvp_error << "\n";
  return worst < 1e-6 && jvp_error < 1e-6 ? 0 : 1;
}
