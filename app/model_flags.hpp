// The recurrent layer's variant flags that `rewind grads` and `rewind train`
// share (--nonlinearity, --bidirectional, --no-bias): registered, and turned
// into SequenceModelOptions, in one place.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "sequence_model.hpp"

namespace rwd::app {

struct LayerFlags {
  std::string nonlinearity = "tanh";  // rnn only
  bool bidirectional = false;
  bool no_bias = false;  // the recurrent layer's biases (the head keeps its own)
};

void add_layer_flags(CLI::App& cmd, LayerFlags& flags);

// Sets options.nonlinearity, .bias and .bidirectional from `flags`; options.cell
// must be set. Throws one line when --nonlinearity is not tanh/relu, or is
// relu for an LSTM/GRU (which have none).
void apply_layer_flags(const LayerFlags& flags, SequenceModelOptions& options);

}  // namespace rwd::app
