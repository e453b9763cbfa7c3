// A model's weights file as rewind train writes it (checkpoint, --save): the
// architecture it implies, writing it, and loading the model back.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <rewind/rewind.hpp>

#include "sequence_model.hpp"

namespace rwd::app {

// What a weights file (rnn.*, head.*) says about the architecture: the
// weights' names and shapes, and "train.nonlinearity" (the name's bytes, int64)
// which rewind train writes for a relu RNN -- absent, tanh, PyTorch's default.
struct Architecture {
  CellKind kind;
  std::size_t input, hidden, layers, output;
  io::DType dtype;
  bool bidirectional = false;  // rnn.weight_hh_l0_reverse is there
  bool bias = true;            // rnn.bias_ih_l0 is there
  nn::Nonlinearity nonlinearity = nn::Nonlinearity::tanh;
  bool nonlinearity_recorded = false;  // the file says (else it is tanh by default)
  SequenceModelOptions options() const;
};
Architecture architecture_of(const io::NpzEntries& entries, const std::string& source);
// A model's weights as rewind train writes them (checkpoint, --save): the
// state dict, and "train.nonlinearity" for a relu RNN.
template <class T>
io::NpzEntries model_file_entries(const SequenceModel<T>& model);
// The model stored in a weights file or checkpoint (T must be its dtype).
template <class T>
std::unique_ptr<SequenceModel<T>> load_model(const std::string& path, const std::string& flag);

}  // namespace rwd::app
