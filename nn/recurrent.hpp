// Recurrent: any RecurrentCell unrolled over time, stacked in layers, run in
// one or both directions, over sequences of different lengths. RNN, LSTM and
// GRU (recurrent_layers.hpp) are this machinery with the built-in cells; a
// cell of your own gets all of it by providing its step function:
//
//   nn::Recurrent<double> model({.input_size = 3, .hidden_size = 8, .num_layers = 2, .bidirectional = true},
//                               [](std::size_t input_size) { return std::make_shared<MyCell>(input_size, 8); });
//   auto [output, final_state] = model.forward(x);   // x [T, B, 3] -> output [T, B, 16]
//
// How a layer runs (L layers, D = 2 if bidirectional else 1):
//   1. its input, [T·B, I] (time-major rows), goes through the cell's
//      project_input once: one GEMM for all time steps;
//   2. the time loop calls step on the B rows of step t, from the initial
//      state, forward t = 0..T-1 and, for the reverse direction, T-1..0
//      (the built-in cells run it as one fused node per step instead:
//      fused_steps.hpp);
//   3. the outputs h_t of the D directions are concatenated along features and
//      (in training mode, between layers) dropped out with probability p.
// Variable lengths (lengths[b] <= T, PyTorch's pack_padded_sequence): at a
// padded step t >= lengths[b], sequence b keeps its state (where(mask, new,
// old)) and outputs zeros, so the final state is that of its last valid step,
// the reverse direction starts at its last valid step, and padded steps pass
// no gradient. The output then equals pad_packed_sequence(..., total_length=T).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "../autograd/random.hpp"
#include "module.hpp"
#include "recurrent_cell.hpp"

namespace rwd::nn {

// PyTorch's RNN/LSTM/GRU arguments, in PyTorch's order.
struct RecurrentOptions {
  std::size_t input_size = 0;
  std::size_t hidden_size = 0;
  std::size_t num_layers = 1;
  Nonlinearity nonlinearity = Nonlinearity::tanh;  // RNN only
  bool bias = true;                                // built-in cells
  bool batch_first = false;                        // input and output [B, T, ·] instead of [T, B, ·]
  double dropout = 0;                              // on every layer's output but the last, in training mode
  bool bidirectional = false;
  RecurrentInit init = RecurrentInit::uniform;  // built-in cells (not a PyTorch argument)
  // Built-in cells record one fused node per step (nn/fused_steps.hpp); false
  // records every step op by op. Both give the same values and gradients,
  // second derivatives (create_graph) included. Not a PyTorch argument.
  bool fused = true;
  // Gradient checkpointing over time (autograd/checkpoint.hpp): 0 keeps every
  // step on the tape; k > 0 runs each layer and direction in segments of k
  // steps (fused or op by op, as `fused` says), keeping only the states
  // between segments and the outputs, and recomputes a segment's steps in
  // backward (k ≈ √T makes the tape O(√T), for about one more forward pass).
  // Same values and gradients; dropout masks are drawn outside the segments,
  // so training mode is fine. Not a PyTorch argument.
  std::size_t checkpoint_segment = 0;
  // Keep each step's state on the tape with its gradient, for
  // step_gradients() after a backward (dL/dh_t of every step, layer and
  // direction). Not with checkpoint_segment. Not a PyTorch argument.
  bool retain_step_grads = false;
};

// dL/dh_t (and dL/dc_t for an LSTM, the cell's second state tensor) of every
// step t of one layer and direction, in time order, each [B, size]: the total
// over every later use (the output, the next step, the final state). Zero at
// padded steps (t >= lengths[b]).
template <class T>
struct StepGradients {
  std::vector<Tensor<T>> h;
  std::vector<Tensor<T>> c;  // empty for cells with one state tensor
};

template <class T>
struct RecurrentOutput {
  Tensor<T> output;  // [T, B, D·H] ([B, T, D·H] if batch_first, [T, D·H] unbatched): the last layer's h_t
  // One tensor per state tensor of the cell (h_n, then c_n for an LSTM):
  // [L·D, B, size], row layer·D + direction, the state after the last valid step.
  std::vector<Tensor<T>> final_state;
};

template <class T>
class Recurrent : public Module<T> {
 public:
  // Makes the cell of one layer and direction; called L·D times in order
  // (layer 0 forward, layer 0 reverse, layer 1 ...) with that layer's input
  // size: options.input_size for layer 0, D·hidden_size above.
  using CellFactory = std::function<std::shared_ptr<RecurrentCell<T>>(std::size_t input_size)>;

  // The cells are registered as submodules "cell_l{k}" and "cell_l{k}_reverse".
  // options.bias, nonlinearity and init are for the factory to use or ignore.
  // `generator` draws the dropout masks.
  Recurrent(RecurrentOptions options, CellFactory make_cell, Generator& generator = default_generator());
  ~Recurrent() override;
  Recurrent(const Recurrent&) = delete;
  Recurrent& operator=(const Recurrent&) = delete;

  // input [T, B, I] ([B, T, I] if batch_first, or [T, I] for one unbatched
  // sequence); initial_state: empty (zeros) or one tensor per state tensor,
  // each [L·D, B, size] ([L·D, size] unbatched) or undefined (zeros);
  // lengths: empty (all T) or one per sequence, each in [1, T].
  RecurrentOutput<T> forward(const Tensor<T>& input, const RecurrentState<T>& initial_state = {},
                             const std::vector<std::size_t>& lengths = {});

  // With options.retain_step_grads, after forward and a backward: dL/dh_t
  // (and dL/dc_t) of every step of `layer` in direction `reverse`.
  StepGradients<T> step_gradients(std::size_t layer, bool reverse = false) const;
  // With options.retain_step_grads, after forward: the state after every step
  // of `layer` in direction `reverse`, in time order, one tensor per state
  // tensor of the cell, as values (cut from the graph).
  std::vector<RecurrentState<T>> step_states(std::size_t layer, bool reverse = false) const;

  const RecurrentOptions& options() const { return options_; }
  std::size_t num_directions() const { return options_.bidirectional ? 2 : 1; }
  const RecurrentCell<T>& cell(std::size_t layer, bool reverse = false) const;

  std::string type_name() const override { return name_; }
  std::string extra_repr() const override;

 protected:
  // For the built-in layers: `name` in messages, and with flat_names the
  // cells' parameters are registered on this module as PyTorch names them,
  // "{name}_l{k}" and "{name}_l{k}_reverse", instead of as submodules.
  Recurrent(std::string name, RecurrentOptions options, CellFactory make_cell, Generator& generator,
            bool flat_names);
  // "_l{layer}" or "_l{layer}_reverse"
  static std::string suffix(std::size_t layer, bool reverse);

 private:
  std::string name_;
  RecurrentOptions options_;
  Generator* generator_;
  bool flat_names_;
  std::vector<std::shared_ptr<RecurrentCell<T>>> cells_;  // [layer · D + direction]
  // retain_step_grads: the last forward's step states [layer · D + direction][t], and its lengths
  struct RetainedSteps {  // one direction of one layer: UnrollResult's steps
    std::vector<Tensor<T>> tensors;
    std::size_t per_step = 1;
    std::size_t count() const { return tensors.size() / per_step; }
    const Tensor<T>* step(std::size_t t) const { return tensors.data() + t * per_step; }
  };
  std::vector<RetainedSteps> step_states_;
  void release_step_states();  // drops them and their gradients
  std::vector<std::size_t> step_lengths_;
};

}  // namespace rwd::nn
