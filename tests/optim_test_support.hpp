// Test helpers for the optim suites: a small Elman RNN built from ops and a
// synthetic next-value-of-a-sine task. (nn::RNN/LSTM/GRU are separate layers;
// this one exists so optim can be tested on its own.)
#pragma once

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

namespace optim_test {

using namespace rwd;

// h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh),   y_t = h_t W_outᵀ + b_out
template <class T>
class ElmanRNN : public nn::Module<T> {
 public:
  ElmanRNN(std::size_t input_size, std::size_t hidden_size, std::size_t output_size, std::uint64_t seed)
      : hidden_size_(hidden_size) {
    Generator gen(seed);
    const T k = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hidden_size)));
    weight_ih = this->register_parameter("weight_ih", uniform<T>({hidden_size, input_size}, -k, k, gen));
    weight_hh = this->register_parameter("weight_hh", uniform<T>({hidden_size, hidden_size}, -k, k, gen));
    bias_ih = this->register_parameter("bias_ih", uniform<T>({hidden_size}, -k, k, gen));
    bias_hh = this->register_parameter("bias_hh", uniform<T>({hidden_size}, -k, k, gen));
    weight_out = this->register_parameter("weight_out", uniform<T>({output_size, hidden_size}, -k, k, gen));
    bias_out = this->register_parameter("bias_out", uniform<T>({output_size}, -k, k, gen));
  }
  std::string type_name() const override { return "ElmanRNN"; }

  Tensor<T> cell(const Tensor<T>& x, const Tensor<T>& h) const {
    return tanh(linear(x, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh));
  }
  Tensor<T> head(const Tensor<T>& h) const { return linear(h, weight_out, bias_out); }
  Tensor<T> initial_state(std::size_t batch) const { return zeros<T>({batch, hidden_size_}); }

  Tensor<T> weight_ih, weight_hh, bias_ih, bias_hh, weight_out, bias_out;

 private:
  std::size_t hidden_size_;
};

// A batch of sine waves with different phases: inputs[t] = sin(0.3 t + φ_b),
// shape [batch, 1]; the target at t is inputs[t + 1].
template <class T>
struct SineTask {
  std::vector<Tensor<T>> inputs;  // length + 1 values, the last one only a target
  std::size_t length = 0;

  SineTask(std::size_t length_, std::size_t batch) : length(length_) {
    for (std::size_t t = 0; t <= length; ++t) {
      xt::xarray<T> x = xt::xarray<T>::from_shape({batch, 1});
      for (std::size_t b = 0; b < batch; ++b)
        x(b, 0) = static_cast<T>(std::sin(0.3 * static_cast<double>(t) + 0.7 * static_cast<double>(b)));
      inputs.emplace_back(std::move(x));
    }
  }
};

// One step of the model on the task: the new hidden state, and the mean
// squared error of its prediction of the next value.
template <class T>
optim::ForwardStep<T> sine_step(const ElmanRNN<T>& model, const SineTask<T>& task) {
  return [&model, &task](std::size_t t, const RecurrentState<T>& state) {
    Tensor<T> h = model.cell(task.inputs[t], state[0]);
    Tensor<T> error = model.head(h) - task.inputs[t + 1];
    return optim::ChunkOutput<T>{{h}, mean(error * error)};
  };
}

// Bitwise equality of two arrays (same shape, same bytes).
template <class T>
bool bitwise_equal(const xt::xarray<T>& a, const xt::xarray<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

}  // namespace optim_test
