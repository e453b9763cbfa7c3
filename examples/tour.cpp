// The README's tour: an LSTM with a readout, one training step, BPTT underneath.
#include <cstdio>

#include <rewind/rewind.hpp>

using namespace rwd;

int main() {
  Generator gen(42);  // same seed, same numbers
  nn::LSTM<double> lstm({.input_size = 3, .hidden_size = 8, .num_layers = 2}, gen);
  nn::Linear<double> head(8, 1, true, gen);
  auto params = lstm.parameters();
  for (auto& p : head.parameters()) params.push_back(p);
  optim::Adam<double> adam(params, {.lr = 1e-2});

  auto x = randn<double>({20, 4, 3}, gen);  // [T, B, I]
  auto y = randn<double>({20, 4, 1}, gen);
  double first = 0, last = 0;
  for (int step = 0; step < 30; ++step) {
    adam.zero_grad();
    auto [output, h_n, c_n] = lstm.forward(x);
    auto loss = nn::mse_loss(head.forward(output), y);  // the notes' L = 1/T Σ_t l(o_t, y_t)
    loss.backward();                                    // BPTT: each weight's gradient summed over all 20 steps
    optim::clip_grad_norm_(params, 1.0);
    adam.step();
    (step == 0 ? first : last) = loss.item();
  }
  std::printf("loss %.4f -> %.4f\n", first, last);
  return last < first ? 0 : 1;  // training must reduce the loss
}
