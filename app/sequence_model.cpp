#include "sequence_model.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace rwd::app {

const char* to_string(CellKind kind) {
  switch (kind) {
    case CellKind::rnn: return "rnn";
    case CellKind::lstm: return "lstm";
    case CellKind::gru: return "gru";
  }
  return "?";
}

CellKind parse_cell_kind(const std::string& name) {
  if (name == "rnn") return CellKind::rnn;
  if (name == "lstm") return CellKind::lstm;
  if (name == "gru") return CellKind::gru;
  throw Error("--model: expected rnn, lstm or gru, got '" + name + "'");
}

nn::Nonlinearity parse_nonlinearity(const std::string& name) {
  if (name == "tanh") return nn::Nonlinearity::tanh;
  if (name == "relu") return nn::Nonlinearity::relu;
  throw Error("--nonlinearity: expected tanh or relu, got '" + name + "'");
}

namespace {

template <class T>
std::shared_ptr<nn::Recurrent<T>> make_recurrent(const SequenceModelOptions& options, Generator& generator) {
  if (options.input_size == 0 || options.hidden_size == 0 || options.output_size == 0 || options.num_layers == 0)
    throw Error("SequenceModel: input_size, hidden_size, output_size and num_layers must be positive, got " +
                std::to_string(options.input_size) + ", " + std::to_string(options.hidden_size) + ", " +
                std::to_string(options.output_size) + ", " + std::to_string(options.num_layers));
  if (options.cell != CellKind::rnn && options.nonlinearity != nn::Nonlinearity::tanh)
    throw Error(std::string("SequenceModel: --nonlinearity is an rnn option, got ") +
                nn::to_string(options.nonlinearity) + " for " + to_string(options.cell));
  nn::RecurrentOptions recurrent{.input_size = options.input_size,
                                 .hidden_size = options.hidden_size,
                                 .num_layers = options.num_layers,
                                 .nonlinearity = options.nonlinearity,
                                 .bias = options.bias,
                                 .bidirectional = options.bidirectional,
                                 .checkpoint_segment = options.checkpoint_segment};
  switch (options.cell) {
    case CellKind::rnn: return std::make_shared<nn::RNN<T>>(recurrent, generator);
    case CellKind::lstm:
      recurrent.nonlinearity = nn::Nonlinearity::tanh;
      return std::make_shared<nn::LSTM<T>>(recurrent, generator);
    case CellKind::gru:
      recurrent.nonlinearity = nn::Nonlinearity::tanh;
      return std::make_shared<nn::GRU<T>>(recurrent, generator);
  }
  throw Error("SequenceModel: unknown cell kind");
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

template <class T>
SequenceModel<T>::SequenceModel(const SequenceModelOptions& options, Generator& generator) : options_(options) {
  rnn_ = this->register_module("rnn", make_recurrent<T>(options, generator));
  const std::size_t features = options.hidden_size * (options.bidirectional ? 2 : 1);
  head_ = this->register_module("head",
                                std::make_shared<nn::Linear<T>>(features, options.output_size, true, generator));
}

template <class T>
typename SequenceModel<T>::Output SequenceModel<T>::forward(const Tensor<T>& x, const RecurrentState<T>& state) const {
  if (x.shape().size() != 3 || x.shape()[2] != options_.input_size)
    throw Error("SequenceModel: input must be [T, B, " + std::to_string(options_.input_size) + "], got " +
                format_shape(x.shape()));
  // Recurrent<T>::forward, not the layer's own: it takes the state as a list
  // and so serves RNN, LSTM and GRU alike.
  auto out = rnn_->nn::template Recurrent<T>::forward(x, state);  // "template": clang requires it here
  return {head_->forward(out.output), std::move(out.final_state)};
}

template <class T>
void check_finite(const xt::xarray<T>& values, const std::string& what) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(static_cast<double>(values.flat(i))))
      throw Error(what + ": element " + std::to_string(i) + " is " + fmt::format("{}", static_cast<double>(values.flat(i))) +
                  ", expected finite numbers");
}

namespace {

// The entries of a `rewind train` checkpoint that are not the model's.
bool checkpoint_entry(const std::string& name) { return name.rfind("optimizer.", 0) == 0 || name.rfind("train.", 0) == 0; }

}  // namespace

template <class T>
void load_parameters(SequenceModel<T>& model, const io::NpzEntries& entries, const std::string& source) {
  std::vector<std::string> missing, unexpected, wrong;
  std::set<std::string> known;
  for (const auto& [name, tensor] : model.named_parameters()) {
    known.insert(name);
    const auto it = entries.find(name);
    if (it == entries.end()) {
      missing.push_back("'" + name + "'");
    } else if (it->second.dtype != io::dtype_of<T>()) {
      wrong.push_back("'" + name + "' has dtype " + io::dtype_name(it->second.dtype) + ", expected " +
                      io::dtype_name(io::dtype_of<T>()));
    } else if (it->second.shape != tensor.shape()) {
      wrong.push_back("'" + name + "' has shape " + format_shape(it->second.shape) + ", expected " +
                      format_shape(tensor.shape()));
    }
  }
  for (const auto& [name, _] : entries)
    if (!known.count(name) && !checkpoint_entry(name)) unexpected.push_back("'" + name + "'");
  std::vector<std::string> problems;
  if (!missing.empty()) problems.push_back("missing " + join(missing));
  if (!unexpected.empty()) problems.push_back("unexpected " + join(unexpected));
  problems.insert(problems.end(), wrong.begin(), wrong.end());
  if (!problems.empty()) {
    std::string message = source + ": does not match the " + to_string(model.options().cell) + " model: ";
    for (std::size_t k = 0; k < problems.size(); ++k) message += (k ? "; " : "") + problems[k];
    throw Error(message);
  }
  std::map<std::string, xt::xarray<T>> values;
  for (const auto& [name, _] : model.named_parameters()) {
    values[name] = entries.at(name).template as<T>(name);
    check_finite(values[name], source + ": entry '" + name + "'");
  }
  for (auto& [name, tensor] : model.named_parameters()) {
    const xt::xarray<T>& value = values.at(name);
    auto& target = tensor.mutable_value();
    std::copy(value.begin(), value.end(), target.begin());
  }
}

template class SequenceModel<float>;
template class SequenceModel<double>;
template void load_parameters<float>(SequenceModel<float>&, const io::NpzEntries&, const std::string&);
template void load_parameters<double>(SequenceModel<double>&, const io::NpzEntries&, const std::string&);
template void check_finite<float>(const xt::xarray<float>&, const std::string&);
template void check_finite<double>(const xt::xarray<double>&, const std::string&);

}  // namespace rwd::app
