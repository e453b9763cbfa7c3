// A cell of your own: the minimal gated unit (Zhou et al. 2016), written with
// Rewind's ops and run by the same nn::Recurrent machinery as the built-in
// LSTM (layers, directions, initial states, variable lengths, BPTT).
//   f  = σ(x W_fᵀ + h U_fᵀ + b_f)              forget gate, the only gate
//   h̃  = tanh(x W_hᵀ + (f ⊙ h) U_hᵀ + b_h)     candidate
//   h' = (1 - f) ⊙ h + f ⊙ h̃
// T is float or double; the literals (1.0 below) convert to T.
#pragma once

#include <cmath>

#include <rewind/rewind.hpp>

template <class T = double>
class MinimalGatedUnit : public rwd::nn::RecurrentCell<T> {
 public:
  using Tensor = rwd::Tensor<T>;

  // weight_ih = [W_f; W_h] [2H, I], bias = [b_f; b_h] [2H], weight_fh = U_f [H, H], weight_hh = U_h [H, H].
  MinimalGatedUnit(Tensor weight_ih, Tensor bias, Tensor weight_fh, Tensor weight_hh)
      // this->: register_parameter is a member of a base that depends on T, which
      // C++ does not look into for an unqualified name.
      : weight_ih_(this->register_parameter("weight_ih", weight_ih)), bias_(this->register_parameter("bias", bias)),
        weight_fh_(this->register_parameter("weight_fh", weight_fh)),
        weight_hh_(this->register_parameter("weight_hh", weight_hh)) {}

  // Fresh parameters ~ U(-1/√H, 1/√H), as PyTorch's cells.
  MinimalGatedUnit(std::size_t input_size, std::size_t hidden_size, rwd::Generator& gen)
      : MinimalGatedUnit(draw({2 * hidden_size, input_size}, hidden_size, gen), draw({2 * hidden_size}, hidden_size, gen),
                         draw({hidden_size, hidden_size}, hidden_size, gen),
                         draw({hidden_size, hidden_size}, hidden_size, gen)) {}

  std::string type_name() const override { return "MinimalGatedUnit"; }
  std::size_t input_size() const override { return weight_ih_.size(1); }
  std::size_t hidden_size() const override { return weight_hh_.size(0); }

  // The input's part of both pre-activations, [x W_fᵀ + b_f | x W_hᵀ + b_h],
  // for the rows of all time steps at once (the machinery calls it per layer).
  Tensor project_input(const Tensor& x) const override { return rwd::linear(x, weight_ih_, bias_); }

  // One step, from the projected input p and the state {h}.
  rwd::RecurrentState<T> step(const Tensor& p, const rwd::RecurrentState<T>& state) const override {
    const Tensor& h = state[0];
    const auto x_part = rwd::split(p, {hidden_size(), hidden_size()}, 1);
    const Tensor f = rwd::sigmoid(x_part[0] + rwd::matmul(h, weight_fh_, false, true));
    const Tensor candidate = rwd::tanh(x_part[1] + rwd::matmul(f * h, weight_hh_, false, true));
    return {(1.0 - f) * h + f * candidate};
  }

 private:
  static Tensor draw(const rwd::Shape& shape, std::size_t hidden_size, rwd::Generator& gen) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
    return rwd::uniform<T>(shape, static_cast<T>(-bound), static_cast<T>(bound), gen);
  }
  Tensor weight_ih_, bias_, weight_fh_, weight_hh_;
};
