// A cell of your own, the one docs/your-own-cell.md builds: the independently
// recurrent neural network (IndRNN, Li et al. 2018). Each hidden unit sees
// only its own previous value, through one recurrent weight u_j:
//   h_t = relu(x_t Wᵀ + b + u ⊙ h_{t-1})      W [H, I], b [H], u [H]
// so the recurrence is elementwise instead of a matrix product, and a unit's
// gradient through time is a product of its own factors u_j relu'(a_t).
// Written with Rewind's ops only: the tape differentiates it, and
// nn::Recurrent runs it over time, layers and directions like a built-in cell.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include <rewind/rewind.hpp>

template <class T>
class IndRNNCell : public rwd::nn::RecurrentCell<T> {
 public:
  using Tensor = rwd::Tensor<T>;

  // Given parameters, used as they are (shared, not copied): W [H, I], u [H], b [H].
  IndRNNCell(Tensor weight_ih, Tensor weight_hh, Tensor bias)
      : weight_ih_(this->register_parameter("weight_ih", weight_ih)),
        weight_hh_(this->register_parameter("weight_hh", weight_hh)),
        bias_(this->register_parameter("bias", bias)) {}

  // Fresh parameters: W and b ~ U(-1/√H, 1/√H) as PyTorch's cells; u ~ U(0, 1),
  // the paper's range for a recurrent weight that neither flips sign nor grows.
  IndRNNCell(std::size_t input_size, std::size_t hidden_size, rwd::Generator& gen)
      : IndRNNCell(rwd::uniform<T>({hidden_size, input_size}, -bound(hidden_size), bound(hidden_size), gen),
                   rwd::uniform<T>({hidden_size}, T(0), T(1), gen),
                   rwd::uniform<T>({hidden_size}, -bound(hidden_size), bound(hidden_size), gen)) {}

  std::string type_name() const override { return "IndRNNCell"; }
  std::size_t input_size() const override { return weight_ih_.size(1); }
  std::size_t hidden_size() const override { return weight_ih_.size(0); }
  const Tensor& weight_ih() const { return weight_ih_; }
  const Tensor& weight_hh() const { return weight_hh_; }
  const Tensor& bias() const { return bias_; }

  // The input's part, x Wᵀ + b, for every time step at once (one GEMM).
  Tensor project_input(const Tensor& x) const override { return rwd::linear(x, weight_ih_, bias_); }

  // One step from the projected input p_t [B, H] and the state {h_{t-1}}:
  // u [H] broadcasts over the B rows.
  rwd::RecurrentState<T> step(const Tensor& p, const rwd::RecurrentState<T>& state) const override {
    return {rwd::relu(p + weight_hh_ * state[0])};
  }

 private:
  static T bound(std::size_t hidden_size) { return T(1) / std::sqrt(static_cast<T>(hidden_size)); }
  Tensor weight_ih_, weight_hh_, bias_;
};
