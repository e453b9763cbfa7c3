// RNN, LSTM, GRU: PyTorch's sequence layers, the Recurrent machinery with the
// built-in cells. Parameters carry PyTorch's names, shapes and order
// (weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, each with a
// "_reverse" twin when bidirectional; layer by layer, forward direction first),
// so named_parameters() maps one-to-one onto a torch module's state_dict.
//
//   nn::LSTM<float> lstm({.input_size = 4, .hidden_size = 8, .num_layers = 2});
//   auto [output, h_n, c_n] = lstm.forward(x);   // x [T, B, 4]: output [T, B, 8], h_n, c_n [2, B, 8]
#pragma once

#include <vector>

#include "gru_cell.hpp"
#include "lstm_cell.hpp"
#include "recurrent.hpp"
#include "rnn_cell.hpp"

namespace rwd::nn {

template <class T>
struct RNNOutput {
  Tensor<T> output;  // [T, B, D·H] ([B, T, D·H] if batch_first): the last layer's h_t
  Tensor<T> h_n;     // [L·D, B, H]: each layer's and direction's h after its last valid step
};
template <class T>
using GRUOutput = RNNOutput<T>;

template <class T>
struct LSTMOutput {
  Tensor<T> output;  // [T, B, D·H] ([B, T, D·H] if batch_first)
  Tensor<T> h_n;     // [L·D, B, H]
  Tensor<T> c_n;     // [L·D, B, H]
};

// Each layer has two constructors: fresh parameters drawn from `generator`
// (options.init says how; the generator also draws the dropout masks), or
// given parameters, used as they are (shared, not copied), listed in
// named_parameters() order; the latter is how a layer is built around weights
// that come from elsewhere (a torch export, a gradient check).
// forward: input [T, B, I] ([B, T, I] if batch_first; [T, I] unbatched, then
// states and outputs lose their B axis too), initial states [L·D, B, H]
// (undefined: zeros), lengths one per sequence in [1, T] (empty: all T).

// Elman RNN: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh), act = tanh | relu.
template <class T>
class RNN : public Recurrent<T> {
 public:
  explicit RNN(RecurrentOptions options, Generator& generator = default_generator());
  RNN(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator = default_generator());
  RNNOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0 = Tensor<T>(),
                       const std::vector<std::size_t>& lengths = {});
  std::string extra_repr() const override;
};

// LSTM (gate order i, f, g, o; equations in lstm_cell.hpp).
template <class T>
class LSTM : public Recurrent<T> {
 public:
  explicit LSTM(RecurrentOptions options, Generator& generator = default_generator());
  LSTM(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator = default_generator());
  LSTMOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0 = Tensor<T>(), const Tensor<T>& c0 = Tensor<T>(),
                        const std::vector<std::size_t>& lengths = {});
};

// GRU (gate order r, z, n; equations in gru_cell.hpp).
template <class T>
class GRU : public Recurrent<T> {
 public:
  explicit GRU(RecurrentOptions options, Generator& generator = default_generator());
  GRU(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator = default_generator());
  GRUOutput<T> forward(const Tensor<T>& input, const Tensor<T>& h0 = Tensor<T>(),
                       const std::vector<std::size_t>& lengths = {});
};

}  // namespace rwd::nn
