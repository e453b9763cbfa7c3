#include "model_flags.hpp"

namespace rwd::app {

void add_layer_flags(CLI::App& cmd, LayerFlags& flags) {
  cmd.add_option("--nonlinearity", flags.nonlinearity, "rnn only: tanh or relu")->capture_default_str();
  cmd.add_flag("--bidirectional", flags.bidirectional, "Run each layer in both directions (the head reads both)");
  cmd.add_flag("--no-bias", flags.no_bias, "No biases in the recurrent layer (the head keeps its bias)");
}

void apply_layer_flags(const LayerFlags& flags, SequenceModelOptions& options) {
  options.nonlinearity = parse_nonlinearity(flags.nonlinearity);
  if (options.cell != CellKind::rnn && options.nonlinearity != nn::Nonlinearity::tanh)
    throw Error("--nonlinearity: only the rnn model has one, got " + flags.nonlinearity + " for " +
                to_string(options.cell));
  options.bias = !flags.no_bias;
  options.bidirectional = flags.bidirectional;
}

}  // namespace rwd::app
