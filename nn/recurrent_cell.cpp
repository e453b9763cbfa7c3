#include "recurrent_cell.hpp"

#include <cmath>
#include <xtensor/xview.hpp>

#include "../autograd/engine.hpp"
#include "fused_steps.hpp"
#include "init.hpp"

namespace rwd::nn {

template <class T>
RecurrentState<T> RecurrentCell<T>::zero_state(std::size_t batch) const {
  RecurrentState<T> state;
  for (auto size : state_sizes()) state.push_back(zeros<T>({batch, size}));
  return state;
}

const char* to_string(Nonlinearity nonlinearity) { return nonlinearity == Nonlinearity::tanh ? "tanh" : "relu"; }

template <class T>
GatedCell<T>::GatedCell(std::string name, std::size_t gates, std::size_t input_size, std::size_t hidden_size,
                        bool bias, Generator& generator, RecurrentInit init)
    : name_(std::move(name)), gates_(gates), input_size_(input_size), hidden_size_(hidden_size) {
  if (input_size == 0) throw Error(name_ + ": input_size must be greater than zero");
  if (hidden_size == 0) throw Error(name_ + ": hidden_size must be greater than zero");
  const std::size_t rows = gates * hidden_size;
  CellWeights<T> weights{zeros<T>({rows, input_size}), zeros<T>({rows, hidden_size}), Tensor<T>(), Tensor<T>()};
  if (bias) {
    weights.bias_ih = zeros<T>({rows});
    weights.bias_hh = zeros<T>({rows});
  }
  register_all(std::move(weights));
  reset_parameters(generator, init);
}

template <class T>
GatedCell<T>::GatedCell(std::string name, std::size_t gates, CellWeights<T> weights)
    : name_(std::move(name)), gates_(gates), input_size_(0), hidden_size_(0) {
  if (!weights.weight_ih.defined() || !weights.weight_hh.defined() || weights.weight_hh.dim() != 2 ||
      weights.weight_hh.size(0) % gates != 0 || weights.weight_hh.size(0) == 0)
    throw Error(name_ + ": weight_hh has shape " + format_shape(weights.weight_hh) + ", expected [" +
                std::to_string(gates) + "*hidden_size, hidden_size]");
  hidden_size_ = weights.weight_hh.size(0) / gates;
  const std::size_t rows = gates * hidden_size_;
  if (weights.weight_hh.size(1) != hidden_size_)
    throw Error(name_ + ": weight_hh has shape " + format_shape(weights.weight_hh) + ", expected [" +
                std::to_string(rows) + ", " + std::to_string(hidden_size_) + "]");
  if (weights.weight_ih.dim() != 2 || weights.weight_ih.size(0) != rows || weights.weight_ih.size(1) == 0)
    throw Error(name_ + ": weight_ih has shape " + format_shape(weights.weight_ih) + ", expected [" +
                std::to_string(rows) + ", input_size]");
  input_size_ = weights.weight_ih.size(1);
  if (weights.bias_ih.defined() != weights.bias_hh.defined())
    throw Error(name_ + ": bias_ih and bias_hh must be both given or both undefined");
  for (const Tensor<T>* b : {&weights.bias_ih, &weights.bias_hh})
    if (b->defined() && b->shape() != Shape{rows})
      throw Error(name_ + ": " + (b == &weights.bias_ih ? "bias_ih" : "bias_hh") + " has shape " +
                  format_shape(b->shape()) + ", expected [" + std::to_string(rows) + "]");
  register_all(std::move(weights));
}

// Registration order is PyTorch's: weight_ih, weight_hh, bias_ih, bias_hh.
template <class T>
void GatedCell<T>::register_all(CellWeights<T> weights) {
  weight_ih_ = this->register_parameter("weight_ih", weights.weight_ih);
  weight_hh_ = this->register_parameter("weight_hh", weights.weight_hh);
  if (weights.bias_ih.defined()) {
    bias_ih_ = this->register_parameter("bias_ih", weights.bias_ih);
    bias_hh_ = this->register_parameter("bias_hh", weights.bias_hh);
  }
}

template <class T>
void GatedCell<T>::reset_parameters(Generator& generator, RecurrentInit init) {
  if (init == RecurrentInit::uniform) {
    // PyTorch's RNNCellBase.reset_parameters: U(-1/√H, 1/√H) for all, in order.
    const T bound = static_cast<T>(1.0 / std::sqrt(static_cast<double>(hidden_size_)));
    for (auto& parameter : this->parameters()) init::uniform_(parameter, -bound, bound, generator);
    return;
  }
  // Per gate: initialise an [H, cols] block and copy it into rows [k·H, (k+1)·H).
  auto per_gate = [&](Tensor<T>& weight, bool orthogonal) {
    Tensor<T> block = zeros<T>({hidden_size_, weight.size(1)});
    for (std::size_t k = 0; k < gates_; ++k) {
      if (orthogonal)
        init::orthogonal_(block, T(1), generator);
      else
        init::xavier_uniform_(block, T(1), generator);
      xt::view(weight.mutable_value(), xt::range(k * hidden_size_, (k + 1) * hidden_size_), xt::all()) =
          block.value();
    }
  };
  per_gate(weight_ih_, false);
  per_gate(weight_hh_, init == RecurrentInit::orthogonal);
  if (has_bias()) {
    init::zeros_(bias_ih_);
    init::zeros_(bias_hh_);
  }
}

template <class T>
std::string GatedCell<T>::extra_repr() const {
  std::string repr = std::to_string(input_size_) + ", " + std::to_string(hidden_size_);
  if (!has_bias()) repr += ", bias=False";
  return repr;
}

template <class T>
void GatedCell<T>::check_step(const Tensor<T>& x, const RecurrentState<T>& state,
                              const std::vector<const char*>& state_names) const {
  if (!x.defined() || x.dim() != 2)
    throw Error(name_ + ": expected a 2-D input [batch, " + std::to_string(input_size_) + "], got shape " +
                format_shape(x));
  if (x.size(1) != input_size_)
    throw Error(name_ + ": input has inconsistent input_size: got " + std::to_string(x.size(1)) + ", expected " +
                std::to_string(input_size_));
  const Shape expected{x.size(0), hidden_size_};
  for (std::size_t k = 0; k < state.size(); ++k)
    if (!state[k].defined() || state[k].shape() != expected)
      throw Error(name_ + ": " + state_names[k] + " has shape " +
                  format_shape(state[k]) + ", expected " +
                  format_shape(expected) + " (input batch " + std::to_string(x.size(0)) + ")");
}

template <class T>
Tensor<T> GatedCell<T>::project_input(const Tensor<T>& x) const {
  return step_kernel().project(x, {weight_ih_, weight_hh_, bias_ih_, bias_hh_});
}

template <class T>
RecurrentState<T> GatedCell<T>::step(const Tensor<T>& p, const RecurrentState<T>& state) const {
  const StepKernel<T>& kernel = step_kernel();
  return kernel.as_ops(p, state, weight_hh_, kernel.bias_hh_in_projection ? Tensor<T>() : bias_hh_);
}

template <class T>
std::optional<UnrollResult<T>> GatedCell<T>::fused_unroll(const Tensor<T>& input, const RecurrentState<T>& state,
                                                          bool reverse, const std::vector<std::size_t>& lengths,
                                                          bool keep_steps) const {
  return unroll_with_fused_steps(step_kernel(), {weight_ih_, weight_hh_, bias_ih_, bias_hh_}, input, state, reverse,
                                 lengths, keep_steps);
}

template class RecurrentCell<float>;
template class RecurrentCell<double>;
template class GatedCell<float>;
template class GatedCell<double>;

}  // namespace rwd::nn
