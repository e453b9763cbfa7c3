// nn::RNN (nn/recurrent_layers.hpp) against the hand-derived BPTT: every
// parameter, h0, x and dL/dh_t of every layer and step, for tanh and relu,
// one and two layers, T = 1 to 500.
#include <doctest/doctest.h>

#include <rewind/rewind.hpp>

using namespace rwd;
using namespace rwd::nn;
using namespace rwd::bptt;

TEST_SUITE("gradient_report_rnn") {
  TEST_CASE("nn::RNN with a Linear head and MSE matches the hand BPTT at every parameter and step") {
    struct Case {
      std::size_t T, B, layers;
      Nonlinearity nonlinearity;
    };
    for (const Case& c : {Case{25, 3, 2, Nonlinearity::tanh}, Case{1, 2, 1, Nonlinearity::tanh},
                          Case{500, 2, 1, Nonlinearity::tanh}, Case{40, 2, 2, Nonlinearity::relu}}) {
      CAPTURE(c.T);
      CAPTURE(c.layers);
      Generator gen(c.T + c.layers);
      const std::size_t I = 3, H = 5, O = 2;
      RNN<double> rnn({.input_size = I, .hidden_size = H, .num_layers = c.layers, .nonlinearity = c.nonlinearity}, gen);
      const TensorD x = randn<double>({c.T, c.B, I}, gen);
      const TensorD h0 = randn<double>({c.layers, c.B, H}, gen);
      const TensorD V = randn<double>({O, H}, gen, true), bias = randn<double>({O}, gen, true);
      const TensorD target = randn<double>({c.T, c.B, O}, gen);
      auto loss = [&](const TensorD& output) { return mean(pow(matmul(output, V, false, true) + bias - target, 2.0)); };

      const auto report = check_rnn_gradients(rnn, x, h0, loss);
      CHECK_MESSAGE(report.passed(), report.to_string());
      CHECK(report.parameters.size() == 4 * c.layers + 2);  // + h0, x
      CHECK(report.steps.size() == c.layers * c.T);
      // the RNN's .grad()s now hold this loss's gradients
      CHECK(rnn.parameter("weight_hh_l0").grad().defined());
    }
  }

  TEST_CASE("the report would see a wrong gradient: a loss the reference is not told about") {
    // Seeding the reference with the right dL/doutput is the caller's job in
    // check_elman_gradients; here the RNN's tape is compared with a reference
    // seeded with twice that gradient, and every row must fail.
    Generator gen(5);
    RNN<double> rnn({.input_size = 2, .hidden_size = 3}, gen);
    TensorD x(randn<double>({6, 2, 2}, gen).value(), true);
    const TensorD seed = randn<double>({6, 2, 3}, gen);
    auto out = rnn.forward(x).output;
    out.backward(seed);
    const TapeGradients<double> side{rnn.named_parameters(), {}, TensorD(), x};
    const auto report = check_elman_gradients(side, ElmanActivation::tanh, xt::xarray<double>(2.0 * seed.value()));
    CHECK_FALSE(report.passed());
    for (const auto& p : report.parameters) CHECK_FALSE(p.passed);
  }

  TEST_CASE("what the reference does not model is refused") {
    Generator gen(6);
    auto loss = [](const TensorD& output) { return sum(output); };
    const TensorD x = randn<double>({4, 2, 3}, gen);
    RNN<double> bidirectional({.input_size = 3, .hidden_size = 4, .bidirectional = true}, gen);
    CHECK_THROWS_WITH_AS(check_rnn_gradients(bidirectional, x, TensorD(), loss),
                         doctest::Contains("no bidirectional RNN"), Error);
    RNN<double> batch_first({.input_size = 3, .hidden_size = 4, .batch_first = true}, gen);
    CHECK_THROWS_WITH_AS(check_rnn_gradients(batch_first, x, TensorD(), loss), doctest::Contains("time-major"), Error);
    RNN<double> dropout({.input_size = 3, .hidden_size = 4, .num_layers = 2, .dropout = 0.5}, gen);
    CHECK_THROWS_WITH_AS(check_rnn_gradients(dropout, x, TensorD(), loss), doctest::Contains("call eval() first"),
                         Error);
    dropout.eval();
    CHECK(check_rnn_gradients(dropout, x, TensorD(), loss).passed());
  }
}
