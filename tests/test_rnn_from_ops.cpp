// Backpropagation through time, end to end, from ops alone: a 2-layer tanh RNN
// unrolled over 20 steps with a linear readout and a mean squared error,
// gradient-checked on every weight and on the input sequence.
#include <doctest/doctest.h>

#include <vector>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/rewind.hpp>

#include "tanh_rnn.hpp"

using namespace rwd;

namespace {

constexpr std::size_t steps = 20, batch = 2, input_size = 3, hidden_size = 4, output_size = 2;

// inputs: {x [T, B, I], W_ih0, W_hh0, b0, W_ih1, W_hh1, b1, W_out, b_out}
//   h¹_t = tanh(x_t W_ih0ᵀ + h¹_{t-1} W_hh0ᵀ + b0)
//   h²_t = tanh(h¹_t W_ih1ᵀ + h²_{t-1} W_hh1ᵀ + b1)
//   y_t  = h²_t W_outᵀ + b_out
//   L    = mean over t, batch, output of (y_t - target_t)²
Function<double> two_layer_rnn_loss(const TensorD& targets) {
  return [targets](const std::vector<TensorD>& in) {
    std::vector<TensorD> xs;
    for (std::size_t t = 0; t < steps; ++t) xs.push_back(select(in[0], 0, t));
    const TensorD h0 = zeros<double>({batch, hidden_size});
    const auto first = rnn_test::unroll({in[1], in[2], in[3]}, xs, h0);
    const auto second = rnn_test::unroll({in[4], in[5], in[6]}, first, h0);
    std::vector<TensorD> outputs;
    for (const auto& h : second) outputs.push_back(linear(h, in[7], in[8]));
    const TensorD error = stack(outputs, 0) - targets;
    return mean(error * error);
  };
}

std::vector<TensorD> draw_inputs(Generator& gen) {
  const auto layer0 = rnn_test::make_layer(input_size, hidden_size, gen);
  const auto layer1 = rnn_test::make_layer(hidden_size, hidden_size, gen);
  return {randn<double>({steps, batch, input_size}, gen, true),
          layer0.weight_ih,
          layer0.weight_hh,
          layer0.bias,
          layer1.weight_ih,
          layer1.weight_hh,
          layer1.bias,
          uniform<double>({output_size, hidden_size}, -0.5, 0.5, gen, true),
          uniform<double>({output_size}, -0.5, 0.5, gen, true)};
}

}  // namespace

TEST_SUITE("rnn_from_ops") {
  TEST_CASE("a 2-layer tanh RNN over 20 steps passes gradcheck on every weight and on its input") {
    Generator gen(5);
    const auto inputs = draw_inputs(gen);
    const TensorD targets = randn<double>({steps, batch, output_size}, gen);
    const auto loss = two_layer_rnn_loss(targets);

    GradcheckOptions full;
    full.name = "2-layer tanh RNN, 20 steps";
    const auto report = gradcheck(loss, inputs, full);
    CHECK_MESSAGE(report.passed(), report.to_string());
    CHECK(report.inputs.size() == inputs.size());  // every tensor was checked

    GradcheckOptions fast = full;
    fast.fast_mode = true;
    CHECK_GRAD(loss, inputs, fast);
  }

  TEST_CASE("the check is sharp: layer 0 with truncated backpropagation through time fails it") {
    // Same values, but layer 0 multiplies W_hh by h_{t-1}.detach(): its
    // gradients lose every path through earlier steps, as a one-step
    // truncated BPTT would. Finite differences still see the true model.
    Generator gen(5);
    const auto inputs = draw_inputs(gen);
    const TensorD targets = randn<double>({steps, batch, output_size}, gen);
    auto truncated = [&](const std::vector<TensorD>& in) {
      TensorD h = zeros<double>({batch, hidden_size});
      TensorD h2 = zeros<double>({batch, hidden_size});
      std::vector<TensorD> outputs;
      for (std::size_t t = 0; t < steps; ++t) {
        h = tanh(linear(select(in[0], 0, t), in[1], in[3]) + matmul(h.detach(), in[2], false, true));
        h2 = tanh(linear(h, in[4], in[6]) + matmul(h2, in[5], false, true));
        outputs.push_back(linear(h2, in[7], in[8]));
      }
      const TensorD error = stack(outputs, 0) - targets;
      return mean(error * error);
    };
    CHECK(truncated(inputs).item() == doctest::Approx(two_layer_rnn_loss(targets)(inputs).item()).epsilon(1e-14));
    const auto report = gradcheck(truncated, inputs);
    INFO(report.to_string());
    CHECK_FALSE(report.passed());
    for (std::size_t i : {0, 1, 2, 3}) CHECK_FALSE(report.inputs[i].passed);  // x and layer 0: truncated
    for (std::size_t i : {4, 5, 6, 7, 8}) CHECK(report.inputs[i].passed);     // layer 1 and readout: exact
  }
}
