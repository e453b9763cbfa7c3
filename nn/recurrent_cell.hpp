// RecurrentCell: one time step of a recurrent network, the unit that
// nn::Recurrent (recurrent.hpp) unrolls over time, layers and directions.
//
// A cell maps (input x_t, state s_{t-1}) to s_t. The state is a list of
// tensors, each [B, state_sizes()[k]]; state[0] is the hidden state h, which
// is also the cell's output (an LSTM's state is {h, c}). A step is split in two
// so the unroll can be fast without knowing the cell:
//   project_input(x)         the part that depends on the input only, applied
//                             to all T·B rows of a layer's input at once (one
//                             GEMM instead of T small ones);
//   step(p_t, state)          the rest, on the projected input rows of one step.
// A cell of your own derives from RecurrentCell, registers its parameters and
// implements step (and project_input when it has an input-only part, else the
// identity is used): examples/minimal_gated_unit.hpp is a complete one.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/random.hpp"
#include "../autograd/tensor.hpp"
#include "module.hpp"

namespace rwd::nn {

template <class T>
struct StepKernel;  // a cell's fused step: nn/fused_steps.hpp

// One direction of one layer, unrolled: the outputs h_t as [T, B, H] and the
// state after the last step.
template <class T>
struct UnrollResult {
  Tensor<T> output;
  RecurrentState<T> state;
  // Each step's new state, in time order, for per-step gradients: step t's
  // tensors are steps[t·per_step, (t+1)·per_step), the state tensors, or (fused
  // steps, per_step = 1) one tensor [B, Σ sizes] holding them side by side.
  // Flat, so that an unroll makes no vector per step.
  std::vector<Tensor<T>> steps;
  std::size_t per_step = 1;
  // Fused steps: the steps' states as values off the tape, whose .grad() the
  // backward sets to each state's total gradient (the steps' own .grad would
  // hold only what reached them from outside the unroll). Empty otherwise.
  std::vector<Tensor<T>> reports;
};

template <class T>
class RecurrentCell : public Module<T> {
 public:
  virtual std::size_t input_size() const = 0;
  virtual std::size_t hidden_size() const = 0;  // the size of h, the output
  // The width of each state tensor, h first; default: h only.
  virtual std::vector<std::size_t> state_sizes() const { return {hidden_size()}; }

  // x [..., input_size] -> p [..., P], row by row: nn::Recurrent passes a
  // whole layer input [T, B, input_size] (any leading axes must be kept; a
  // [T·B, P] result is accepted too), a cell's forward one step [B, input_size].
  virtual Tensor<T> project_input(const Tensor<T>& x) const { return x; }
  // p_t [B, P] (rows of project_input's result), state -> the next state.
  virtual RecurrentState<T> step(const Tensor<T>& projected_input, const RecurrentState<T>& state) const = 0;

  // The zero state for a batch of `batch` (constants: they need no gradient).
  RecurrentState<T> zero_state(std::size_t batch) const;

  // The whole time loop over a layer input [T, B, input_size] (its own input
  // projection included) as one fused function (nn/fused_steps.hpp), for
  // cells that have one; nullopt (the default) lets nn::Recurrent project the
  // input and record the steps op by op.
  // lengths: as nn::Recurrent's (empty: every sequence runs all T steps).
  // keep_steps: also each step's state, as outputs (UnrollResult::steps, reports).
  virtual std::optional<UnrollResult<T>> fused_unroll(const Tensor<T>& /*input*/, const RecurrentState<T>& /*state*/,
                                                      bool /*reverse*/, const std::vector<std::size_t>& /*lengths*/,
                                                      bool /*keep_steps*/ = true) const {
    return std::nullopt;
  }
};

// The hidden nonlinearity of an Elman RNN (PyTorch's nonlinearity='tanh'|'relu').
enum class Nonlinearity { tanh, relu };
const char* to_string(Nonlinearity nonlinearity);

// How the built-in cells initialise their parameters.
//   uniform         every parameter ~ U(-1/√H, 1/√H), PyTorch's default;
//   xavier_uniform  weight_ih and weight_hh Xavier-uniform, biases zero;
//   orthogonal      weight_ih Xavier-uniform, weight_hh orthogonal, biases
//                   zero (the usual recipe for long sequences: W_hh then
//                   preserves norms at initialisation).
// The Xavier and orthogonal inits treat each gate's [H, ·] block as its own
// matrix (it is one linear map), not the stacked [G·H, ·] matrix.
enum class RecurrentInit { uniform, xavier_uniform, orthogonal };

// The four parameters of a built-in cell, PyTorch's names and shapes:
// weight_ih [G·H, I], weight_hh [G·H, H], bias_ih [G·H], bias_hh [G·H]
// (G = gates: RNN 1, LSTM 4, GRU 3); the biases are both set or both undefined.
template <class T>
struct CellWeights {
  Tensor<T> weight_ih = Tensor<T>(), weight_hh = Tensor<T>();
  Tensor<T> bias_ih = Tensor<T>(), bias_hh = Tensor<T>();  // may be left out: no bias
};

// The common part of RNNCell, LSTMCell and GRUCell: G gates whose
// pre-activations are stacked along the last axis, gate k in [k·H, (k+1)·H).
template <class T>
class GatedCell : public RecurrentCell<T> {
 public:
  std::string type_name() const override { return name_; }
  std::string extra_repr() const override;
  std::size_t input_size() const override { return input_size_; }
  std::size_t hidden_size() const override { return hidden_size_; }
  std::size_t gate_count() const { return gates_; }
  bool has_bias() const { return bias_ih_.defined(); }

  const Tensor<T>& weight_ih() const { return weight_ih_; }
  const Tensor<T>& weight_hh() const { return weight_hh_; }
  const Tensor<T>& bias_ih() const { return bias_ih_; }  // undefined without bias
  const Tensor<T>& bias_hh() const { return bias_hh_; }

  // P = x W_ihᵀ + b_ih (+ b_hh where it enters P unchanged), and the step on
  // P's rows, as ops: the equations of the cell's step_kernel().
  Tensor<T> project_input(const Tensor<T>& x) const override;
  RecurrentState<T> step(const Tensor<T>& projected_input, const RecurrentState<T>& state) const override;
  // The whole loop as one fused function over the cell's step_kernel().
  std::optional<UnrollResult<T>> fused_unroll(const Tensor<T>& input, const RecurrentState<T>& state, bool reverse,
                                              const std::vector<std::size_t>& lengths,
                                              bool keep_steps = true) const override;

  // Draws every parameter afresh (in registration order).
  void reset_parameters(Generator& generator = default_generator(), RecurrentInit init = RecurrentInit::uniform);

 protected:
  // Fresh parameters, initialised by `init` from `generator`.
  GatedCell(std::string name, std::size_t gates, std::size_t input_size, std::size_t hidden_size, bool bias,
            Generator& generator, RecurrentInit init);
  // Given parameters, used as they are (shared, not copied); sizes come from their shapes.
  GatedCell(std::string name, std::size_t gates, CellWeights<T> weights);

  // Throws unless x is [B, input_size] and each state tensor is [B, H].
  void check_step(const Tensor<T>& x, const RecurrentState<T>& state, const std::vector<const char*>& state_names) const;
  // This cell's step as a fused kernel (its forward, backward and as_ops).
  virtual const StepKernel<T>& step_kernel() const = 0;
  std::string name_;
  std::size_t gates_, input_size_, hidden_size_;
  Tensor<T> weight_ih_, weight_hh_, bias_ih_, bias_hh_;

 private:
  void register_all(CellWeights<T> weights);
};

}  // namespace rwd::nn
