// SequenceModel: a recurrent layer (RNN, LSTM or GRU) followed by a Linear
// readout at every step, o_t = head(h_t) -- the one model of the rewind
// program (train, predict, sample, grads, graph). Its parameters carry PyTorch's names for
//
//   class SequenceModel(torch.nn.Module):
//       def __init__(self): self.rnn = nn.LSTM(I, H, L, ...); self.head = nn.Linear(D*H, O)
//       def forward(self, x): return self.head(self.rnn(x)[0])
//
// ("rnn.weight_ih_l0", ..., "head.weight", "head.bias"), so a torch state_dict
// saved with numpy.savez loads here unchanged, and back.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <rewind/rewind.hpp>

namespace rwd::app {

enum class CellKind { rnn, lstm, gru };
const char* to_string(CellKind kind);
// "rnn" | "lstm" | "gru"; throws naming the flag and the value otherwise.
CellKind parse_cell_kind(const std::string& name);
// "tanh" | "relu"; throws naming the value otherwise.
nn::Nonlinearity parse_nonlinearity(const std::string& name);

struct SequenceModelOptions {
  CellKind cell = CellKind::rnn;
  std::size_t input_size = 0;
  std::size_t hidden_size = 0;
  std::size_t output_size = 0;
  std::size_t num_layers = 1;
  nn::Nonlinearity nonlinearity = nn::Nonlinearity::tanh;  // rnn only
  bool bias = true;                                        // the recurrent layer's biases (the head always has one)
  bool bidirectional = false;
  std::size_t checkpoint_segment = 0;  // RecurrentOptions::checkpoint_segment: 0 keeps every step on the tape
};

template <class T>
class SequenceModel : public nn::Module<T> {
 public:
  // Fresh parameters drawn from `generator` (PyTorch's default init); throws
  // naming the option if a size is zero or nonlinearity is set for LSTM/GRU.
  explicit SequenceModel(const SequenceModelOptions& options, Generator& generator = default_generator());

  struct Output {
    Tensor<T> output;        // [T, B, output_size]: o_t at every step
    RecurrentState<T> state;  // the recurrent state after the last step (h_n, and c_n for an LSTM)
  };
  // x [T, B, input_size] -> o [T, B, output_size], o_t = head(h_t); with
  // bidirectional, h_t is [forward h_t, reverse h_t] (PyTorch's layout).
  // state: empty (zeros) or the state a previous call returned.
  Output forward(const Tensor<T>& x, const RecurrentState<T>& state = {}) const;

  const SequenceModelOptions& options() const { return options_; }
  CellKind kind() const { return options_.cell; }
  nn::Recurrent<T>& recurrent() const { return *rnn_; }
  const nn::Linear<T>& head() const { return *head_; }

  std::string type_name() const override { return "SequenceModel"; }

 private:
  SequenceModelOptions options_;
  std::shared_ptr<nn::Recurrent<T>> rnn_;  // submodule "rnn"
  std::shared_ptr<nn::Linear<T>> head_;    // submodule "head"
};

// Loads `entries` (a weights file's or a checkpoint's contents, e.g. from
// io::read_npz) into the model's parameters; a checkpoint's own entries
// ("optimizer.*", "train.*") are skipped. Everything is checked first: every
// missing name, every unexpected name, every wrong dtype (must be T's: float32
// for float, float64 for double), every wrong shape and every value that is
// not finite; if anything is wrong, one single-line Error names `source` and
// the problems, and the model is left untouched.
template <class T>
void load_parameters(SequenceModel<T>& model, const io::NpzEntries& entries, const std::string& source);

// Throws naming `what` and the first element that is NaN or infinite.
template <class T>
void check_finite(const xt::xarray<T>& values, const std::string& what);

}  // namespace rwd::app
