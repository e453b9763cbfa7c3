#include "recurrent_layers.hpp"

#include <memory>

#include "../autograd/engine.hpp"

namespace rwd::nn {

namespace {

template <class T>
using CellFactory = typename Recurrent<T>::CellFactory;

// LSTM and GRU have no nonlinearity argument (PyTorch rejects it too).
RecurrentOptions without_nonlinearity(const char* name, RecurrentOptions options) {
  if (options.nonlinearity != Nonlinearity::tanh)
    throw Error(std::string(name) + ": nonlinearity is an RNN option, got " + to_string(options.nonlinearity));
  return options;
}

// A factory drawing fresh cells: Cell(input_size, hidden_size, bias, [nonlinearity,] generator, init).
template <class T, class Cell, class... Extra>
CellFactory<T> fresh_cells(const RecurrentOptions& options, Generator& generator, Extra... extra) {
  return [options, &generator, extra...](std::size_t input_size) -> std::shared_ptr<RecurrentCell<T>> {
    return std::make_shared<Cell>(input_size, options.hidden_size, options.bias, extra..., generator, options.init);
  };
}

// A factory handing out the given parameters, in named_parameters() order,
// checking each against the shape PyTorch gives it. Calls come in the order
// layer 0, layer 0 reverse, layer 1, ... (Recurrent's contract).
template <class T, class Cell, class... Extra>
CellFactory<T> given_cells(const char* name, const RecurrentOptions& options, std::size_t gates,
                           std::vector<Tensor<T>> parameters, Extra... extra) {
  const std::size_t directions = options.bidirectional ? 2 : 1;
  const std::size_t per_cell = options.bias ? 4 : 2;
  const std::size_t expected_count = options.num_layers * directions * per_cell;
  if (parameters.size() != expected_count)
    throw Error(std::string(name) + ": got " + std::to_string(parameters.size()) + " parameters, expected " +
                std::to_string(expected_count) + " (named_parameters() order)");
  auto next = std::make_shared<std::size_t>(0);  // the factory is copied into std::function
  return [name, options, gates, parameters = std::move(parameters), next, directions, per_cell,
          extra...](std::size_t input_size) -> std::shared_ptr<RecurrentCell<T>> {
    const std::size_t cell = *next / per_cell, layer = cell / directions;
    const std::string suffix = "_l" + std::to_string(layer) + (cell % directions ? "_reverse" : "");
    const std::size_t rows = gates * options.hidden_size;
    const char* names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const Shape shapes[] = {{rows, input_size}, {rows, options.hidden_size}, {rows}, {rows}};
    Tensor<T> given[4];
    for (std::size_t k = 0; k < per_cell; ++k, ++*next) {
      given[k] = parameters[*next];
      if (!given[k].defined() || given[k].shape() != shapes[k])
        throw Error(std::string(name) + ": parameter " + std::to_string(*next) + " (" + names[k] + suffix +
                    ") has shape " + format_shape(given[k]) +
                    ", expected " + format_shape(shapes[k]));
    }
    return std::make_shared<Cell>(CellWeights<T>{given[0], given[1], given[2], given[3]}, extra...);
  };
}

}  // namespace

// ---- RNN ----------------------------------------------------------------------
template <class T>
RNN<T>::RNN(RecurrentOptions options, Generator& generator)
    : Recurrent<T>("RNN", options, fresh_cells<T, RNNCell<T>>(options, generator, options.nonlinearity), generator,
                   /*flat_names=*/true) {}

template <class T>
RNN<T>::RNN(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator)
    : Recurrent<T>("RNN", options,
                   given_cells<T, RNNCell<T>>("RNN", options, 1, std::move(parameters), options.nonlinearity),
                   generator, /*flat_names=*/true) {}

template <class T>
RNNOutput<T> RNN<T>::forward(const Tensor<T>& input, const Tensor<T>& h0, const std::vector<std::size_t>& lengths) {
  RecurrentOutput<T> result = Recurrent<T>::forward(input, {h0}, lengths);
  return {result.output, result.final_state[0]};
}

// PyTorch's RNN repr leaves the nonlinearity out; printing it says which RNN this is.
template <class T>
std::string RNN<T>::extra_repr() const {
  std::string repr = Recurrent<T>::extra_repr();
  if (this->options().nonlinearity != Nonlinearity::tanh)
    repr += std::string(", nonlinearity=") + to_string(this->options().nonlinearity);
  return repr;
}

// ---- LSTM ---------------------------------------------------------------------
template <class T>
LSTM<T>::LSTM(RecurrentOptions options, Generator& generator)
    : Recurrent<T>("LSTM", without_nonlinearity("LSTM", options),
                   fresh_cells<T, LSTMCell<T>>(options, generator), generator, /*flat_names=*/true) {}

template <class T>
LSTM<T>::LSTM(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator)
    : Recurrent<T>("LSTM", without_nonlinearity("LSTM", options),
                   given_cells<T, LSTMCell<T>>("LSTM", options, 4, std::move(parameters)), generator,
                   /*flat_names=*/true) {}

template <class T>
LSTMOutput<T> LSTM<T>::forward(const Tensor<T>& input, const Tensor<T>& h0, const Tensor<T>& c0,
                               const std::vector<std::size_t>& lengths) {
  RecurrentOutput<T> result = Recurrent<T>::forward(input, {h0, c0}, lengths);
  return {result.output, result.final_state[0], result.final_state[1]};
}

// ---- GRU ----------------------------------------------------------------------
template <class T>
GRU<T>::GRU(RecurrentOptions options, Generator& generator)
    : Recurrent<T>("GRU", without_nonlinearity("GRU", options), fresh_cells<T, GRUCell<T>>(options, generator),
                   generator, /*flat_names=*/true) {}

template <class T>
GRU<T>::GRU(RecurrentOptions options, std::vector<Tensor<T>> parameters, Generator& generator)
    : Recurrent<T>("GRU", without_nonlinearity("GRU", options),
                   given_cells<T, GRUCell<T>>("GRU", options, 3, std::move(parameters)), generator,
                   /*flat_names=*/true) {}

template <class T>
GRUOutput<T> GRU<T>::forward(const Tensor<T>& input, const Tensor<T>& h0, const std::vector<std::size_t>& lengths) {
  RecurrentOutput<T> result = Recurrent<T>::forward(input, {h0}, lengths);
  return {result.output, result.final_state[0]};
}

template class RNN<float>;
template class RNN<double>;
template class LSTM<float>;
template class LSTM<double>;
template class GRU<float>;
template class GRU<double>;

}  // namespace rwd::nn
