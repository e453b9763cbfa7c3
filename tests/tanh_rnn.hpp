// An Elman tanh RNN written directly with autograd ops (no nn module), shared
// by the tests that differentiate through time.
//   h_t = tanh(x_t W_ihᵀ + h_{t-1} W_hhᵀ + b)
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include <rewind/rewind.hpp>

namespace rnn_test {

using rwd::TensorD;

struct Layer {
  TensorD weight_ih;  // [hidden, input]
  TensorD weight_hh;  // [hidden, hidden]
  TensorD bias;       // [hidden]
};

// PyTorch's nn.RNN initialisation: every parameter ~ U(-k, k), k = 1/√hidden.
inline Layer make_layer(std::size_t input_size, std::size_t hidden_size, rwd::Generator& gen) {
  const double k = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  return {rwd::uniform<double>({hidden_size, input_size}, -k, k, gen, true),
          rwd::uniform<double>({hidden_size, hidden_size}, -k, k, gen, true),
          rwd::uniform<double>({hidden_size}, -k, k, gen, true)};
}

// Runs the layer over xs (each [batch, input]) from h0 ([batch, hidden]) and
// returns h_1 … h_T. `after_step(t, h_t)` may replace h_t (e.g. add a probe
// tensor, or retain its gradient) before the next step uses it.
inline std::vector<TensorD> unroll(const Layer& layer, const std::vector<TensorD>& xs, TensorD h,
                                   const std::function<TensorD(std::size_t, TensorD)>& after_step = {}) {
  std::vector<TensorD> hs;
  for (std::size_t t = 0; t < xs.size(); ++t) {
    h = rwd::tanh(rwd::linear(xs[t], layer.weight_ih, layer.bias) + rwd::matmul(h, layer.weight_hh, false, true));
    if (after_step) h = after_step(t, h);
    hs.push_back(h);
  }
  return hs;
}

}  // namespace rnn_test
