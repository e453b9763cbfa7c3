// Weights files: the architecture from the entries' names and shapes, every
// size taken from an entry that holds data of that size.
#include "model_file.hpp"

#include "npy_files.hpp"
#include "vocabulary.hpp"

namespace rwd::app {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("train: " + what); }

}  // namespace

Architecture architecture_of(const io::NpzEntries& entries, const std::string& source) {
  auto it = entries.find("rnn.weight_hh_l0");
  if (it == entries.end() || it->second.shape.size() != 2)
    fail(source + ": no 2-D entry 'rnn.weight_hh_l0' (expected weights named as PyTorch's rnn.* and head.*)");
  Architecture a{};
  a.hidden = it->second.shape[1];
  const std::size_t gates = a.hidden ? it->second.shape[0] / a.hidden : 0;
  if (a.hidden == 0 || it->second.shape[0] % a.hidden || (gates != 1 && gates != 3 && gates != 4))
    fail(source + ": rnn.weight_hh_l0 has shape " + format_shape(it->second.shape) +
         ", expected [G·H, H] with G = 1 (rnn), 3 (gru) or 4 (lstm)");
  a.kind = gates == 1 ? CellKind::rnn : gates == 3 ? CellKind::gru : CellKind::lstm;
  a.layers = 0;
  for (auto layer = entries.find("rnn.weight_hh_l0"); layer != entries.end();
       layer = entries.find("rnn.weight_hh_l" + std::to_string(++a.layers)))
    if (layer->second.shape != it->second.shape)
      fail(source + ": " + layer->first + " has shape " + format_shape(layer->second.shape) + ", rnn.weight_hh_l0 " +
           format_shape(it->second.shape));
  a.bidirectional = entries.count("rnn.weight_hh_l0_reverse") > 0;
  a.bias = entries.count("rnn.bias_ih_l0") > 0;
  if (entries.count("train.nonlinearity")) {
    const std::string name = text_of_entry(entries, "train.nonlinearity", source);
    if (name != "tanh" && name != "relu")
      fail(source + ": train.nonlinearity is '" + name + "', expected tanh or relu");
    a.nonlinearity = parse_nonlinearity(name);
    a.nonlinearity_recorded = true;
    if (a.kind != CellKind::rnn && a.nonlinearity != nn::Nonlinearity::tanh)
      fail(source + ": train.nonlinearity is " + name + " for a " + to_string(a.kind) + " (only an rnn has one)");
  }
  // Every size comes from an entry that holds data of that size (an empty
  // [0, 10^12] entry must not size a model of terabytes before the shape checks).
  const std::size_t features = a.hidden * (a.bidirectional ? 2 : 1);
  auto head = entries.find("head.weight");
  if (head == entries.end() || head->second.shape.size() != 2 || head->second.shape[1] != features)
    fail(source + ": no 2-D entry 'head.weight' of shape [O, " + std::to_string(features) + "]" +
         (a.bidirectional ? " (bidirectional: both directions' h_t)" : ""));
  a.output = head->second.shape[0];
  auto ih = entries.find("rnn.weight_ih_l0");
  if (ih == entries.end() || ih->second.shape.size() != 2 || ih->second.shape[0] != gates * a.hidden)
    fail(source + ": no 2-D entry 'rnn.weight_ih_l0' of shape [" + std::to_string(gates * a.hidden) + ", I]");
  a.input = ih->second.shape[1];
  if (a.output == 0 || a.input == 0) fail(source + ": 'head.weight' or 'rnn.weight_ih_l0' is empty");
  a.dtype = it->second.dtype;
  return a;
}

SequenceModelOptions Architecture::options() const {
  return SequenceModelOptions{.cell = kind, .input_size = input, .hidden_size = hidden, .output_size = output,
                              .num_layers = layers, .nonlinearity = nonlinearity, .bias = bias,
                              .bidirectional = bidirectional};
}

template <class T>
std::unique_ptr<SequenceModel<T>> load_model(const std::string& path, const std::string& flag) {
  const io::NpzEntries entries = read_npz_file(path, flag);
  const std::string source = flag + " '" + path + "'";
  const Architecture a = architecture_of(entries, source);
  Generator gen(0);
  auto model = std::make_unique<SequenceModel<T>>(a.options(), gen);
  load_parameters(*model, entries, source);
  return model;
}

template <class T>
io::NpzEntries model_file_entries(const SequenceModel<T>& model) {
  io::NpzEntries entries;
  for (const auto& [name, value] : nn::state_dict(model)) entries[name] = value;
  if (model.options().nonlinearity != nn::Nonlinearity::tanh)
    entries["train.nonlinearity"] = vocabulary_codes(nn::to_string(model.options().nonlinearity));
  return entries;
}
template io::NpzEntries model_file_entries<float>(const SequenceModel<float>&);
template io::NpzEntries model_file_entries<double>(const SequenceModel<double>&);
template std::unique_ptr<SequenceModel<float>> load_model<float>(const std::string&, const std::string&);
template std::unique_ptr<SequenceModel<double>> load_model<double>(const std::string&, const std::string&);

}  // namespace rwd::app
