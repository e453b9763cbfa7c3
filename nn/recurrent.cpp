#include "recurrent.hpp"

#include <algorithm>
#include <exception>
#include <new>
#include <optional>
#include <string>
#include <sstream>

#include "../autograd/checkpoint.hpp"
#include "../autograd/engine.hpp"
#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"
#include "dropout.hpp"
#include "recurrent_unroll.hpp"

namespace rwd::nn {

namespace {

// An exception from a cell's step, on its way out of forward, which names the
// layer and direction: the time step t and the step's own message.
struct StepFailure : Error {
  std::size_t t;
  std::string original;
  StepFailure(std::size_t step, std::string message)
      : Error("time step " + std::to_string(step) + ": " + message), t(step), original(std::move(message)) {}
};

// cell.step, whose exceptions leave as a StepFailure at time step t.
template <class T>
RecurrentState<T> run_step(const RecurrentCell<T>& cell, const Tensor<T>& p, const RecurrentState<T>& state,
                           std::size_t t) {
  try {
    return cell.step(p, state);
  } catch (const StepFailure&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw StepFailure(t, e.what());
  }
}


// The name of initial/final state tensor k in messages: h0, c0, then by position.
std::string state_name(std::size_t k) {
  return k == 0 ? "h0" : k == 1 ? "c0" : "initial state " + std::to_string(k);
}

// masks[t] [B, 1]: 1 where step t lies within sequence b (t < lengths[b]), else
// 0; undefined at the steps where every sequence is still running, which the
// unroll then takes without any masking op.
template <class T>
std::vector<Tensor<T>> step_masks(const std::string& name, const std::vector<std::size_t>& lengths,
                                  std::size_t steps, std::size_t batch) {
  std::vector<Tensor<T>> masks(steps);
  if (lengths.empty()) return masks;
  if (lengths.size() != batch)
    throw Error(name + ": lengths has " + std::to_string(lengths.size()) +
                " entries, expected one per sequence in the batch (" + std::to_string(batch) + ")");
  for (std::size_t b = 0; b < batch; ++b)
    if (lengths[b] == 0 || lengths[b] > steps)
      throw Error(name + ": lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                  " is out of range [1, " + std::to_string(steps) + "] (the input has " + std::to_string(steps) +
                  " time steps)");
  const std::size_t shortest = *std::min_element(lengths.begin(), lengths.end());
  for (std::size_t t = shortest; t < steps; ++t) {
    xt::xarray<T> mask = xt::xarray<T>::from_shape({batch, 1});
    for (std::size_t b = 0; b < batch; ++b) mask(b, 0) = t < lengths[b] ? T(1) : T(0);
    masks[t] = Tensor<T>(std::move(mask));
  }
  return masks;
}

// The row ranges [bounds[k], bounds[k+1]) of x [N, C] as separate tensors: the
// time steps of a layer's projected input, the cells' initial states, the
// segments of a checkpointed unroll. One split: its backward writes each
// block's gradient into one buffer for x (slices would each pad a full-size
// copy: O(N²/rows)).
template <class T>
std::vector<Tensor<T>> row_ranges(const Tensor<T>& x, const std::vector<std::size_t>& bounds) {
  // Rows before the first range and after the last are split off and dropped.
  std::vector<std::size_t> sizes{bounds.front()};
  for (std::size_t k = 0; k + 1 < bounds.size(); ++k) sizes.push_back(bounds[k + 1] - bounds[k]);
  sizes.push_back(x.size(0) - bounds.back());
  std::vector<Tensor<T>> blocks = split(x, sizes, 0);
  return std::vector<Tensor<T>>(blocks.begin() + 1, blocks.end() - 1);
}

// The row blocks [k·rows, (k+1)·rows) of x [N, C].
template <class T>
std::vector<Tensor<T>> row_blocks(const Tensor<T>& x, std::size_t rows) {
  std::vector<std::size_t> bounds;
  for (std::size_t first = 0; first + rows <= x.size(0); first += rows) bounds.push_back(first);
  bounds.push_back(bounds.empty() ? 0 : bounds.back() + rows);
  return row_ranges(x, bounds);
}

// One layer, one direction: forward t = 0..T-1 or reverse t = T-1..0.
//   s_t = step(p_t, s_prev)                    (all sequences running at t)
//   s_t = where(m_t, step(p_t, s_prev), s_prev),  h_out_t = m_t ⊙ h_t   (some padded at t)
template <class T>
UnrollResult<T> unroll_direction(const std::string& name, const RecurrentCell<T>& cell,
                                    const std::vector<Tensor<T>>& projected_steps, RecurrentState<T> state,
                                    const std::vector<Tensor<T>>& masks, bool reverse) {
  const std::size_t count = masks.size();
  std::vector<Tensor<T>> outputs(count);
  std::vector<Tensor<T>> steps(count * state.size());  // each step's new state before masking: its gradient is dL/dh_t
  for (std::size_t s = 0; s < count; ++s) {
    const std::size_t t = reverse ? count - 1 - s : s;
    RecurrentState<T> next = run_step(cell, projected_steps[t], state, t);
    if (s == 0) {  // a user cell's mistakes surface here, once, with names
      bool ok = next.size() == state.size();
      for (std::size_t k = 0; ok && k < next.size(); ++k) ok = next[k].defined() && next[k].shape() == state[k].shape();
      if (!ok) {
        std::string got, expected;
        for (const auto& x : next) got += (got.empty() ? "" : ", ") + format_shape(x);
        for (const auto& x : state) expected += (expected.empty() ? "" : ", ") + format_shape(x.shape());
        throw Error(name + ": the cell's step returned a state of shapes {" + got + "}, expected {" + expected + "}");
      }
    }
    std::copy(next.begin(), next.end(), steps.begin() + static_cast<std::ptrdiff_t>(t * next.size()));
    if (masks[t].defined()) {
      outputs[t] = next[0] * masks[t];
      for (std::size_t k = 0; k < next.size(); ++k) next[k] = where(masks[t], next[k], state[k]);
    } else {
      outputs[t] = next[0];
    }
    state = std::move(next);
  }
  const std::size_t batch = outputs[0].size(0), hidden = outputs[0].size(1);
  const std::size_t per_step = state.size();
  return {reshape(concat(outputs, 0), {count, batch, hidden}), std::move(state), std::move(steps), per_step, {}};
}

}  // namespace

// One layer, one direction, over `input` [T, B, I]: the cell's fused steps
// when it has them and `fused` is set, else its project_input and step op by op.
template <class T>
UnrollResult<T> impl::run_direction(const std::string& name, const RecurrentCell<T>& cell, const Tensor<T>& input,
                              RecurrentState<T> state, const std::vector<Tensor<T>>& masks,
                              const std::vector<std::size_t>& lengths, bool reverse, bool fused,
                              bool keep_steps) {
  if (fused)
    if (std::optional<UnrollResult<T>> result = cell.fused_unroll(input, state, reverse, lengths, keep_steps))
      return std::move(*result);
  const std::size_t steps = masks.size(), batch = state[0].size(0);
  const Tensor<T> projected = cell.project_input(input);
  const bool rows_kept = (projected.dim() == 3 && projected.size(0) == steps && projected.size(1) == batch) ||
                         (projected.dim() == 2 && projected.size(0) == steps * batch);
  if (!rows_kept)
    throw Error(name + ": the cell's project_input turned " + format_shape(input.shape()) + " into " +
                format_shape(projected.shape()) + ", expected [" + std::to_string(steps) + ", " +
                std::to_string(batch) + ", ·] or " + std::to_string(steps * batch) + " rows");
  const Tensor<T> rows = reshape(projected, {steps * batch, projected.size(-1)});
  return unroll_direction(name, cell, row_blocks(rows, batch), std::move(state), masks, reverse);
}
#define REWIND_INSTANTIATE(T)                                                                                    \
  template UnrollResult<T> impl::run_direction<T>(const std::string&, const RecurrentCell<T>&, const Tensor<T>&, \
                                                    RecurrentState<T>, const std::vector<Tensor<T>>&,              \
                                                    const std::vector<std::size_t>&, bool, bool, bool);
REWIND_INSTANTIATE(float)
REWIND_INSTANTIATE(double)
#undef REWIND_INSTANTIATE

namespace {

// run_direction in segments of k steps, each one checkpoint (autograd/
// checkpoint.hpp) over (the state it starts from, its rows of the layer input
// [T·B, I]) that returns (the state it ends with, its outputs [k, B, H]): the
// tape keeps T/k of them, and backward recomputes one segment's steps at a
// time. Segments run in the direction's time order.
template <class T>
UnrollResult<T> checkpointed_direction(const std::string& name, const std::shared_ptr<RecurrentCell<T>>& cell,
                                       const Tensor<T>& input_rows, RecurrentState<T> state,
                                       const std::vector<Tensor<T>>& masks, const std::vector<std::size_t>& lengths,
                                       bool reverse, bool fused, std::size_t k) {
  const std::size_t steps = masks.size(), batch = input_rows.size(0) / steps, state_size = state.size();
  std::vector<std::size_t> first_steps;  // segment starts, in time order
  for (std::size_t t = 0; t < steps; t += k) first_steps.push_back(t);
  std::vector<std::size_t> bounds;
  for (std::size_t t : first_steps) bounds.push_back(t * batch);
  bounds.push_back(steps * batch);
  const std::vector<Tensor<T>> segment_rows = row_ranges(input_rows, bounds);
  const std::vector<Tensor<T>> params = cell->parameters();

  std::vector<Tensor<T>> segment_outputs(first_steps.size());
  for (std::size_t n = 0; n < first_steps.size(); ++n) {
    const std::size_t segment = reverse ? first_steps.size() - 1 - n : n;
    const std::size_t first = first_steps[segment], count = std::min(k, steps - first);
    const std::vector<Tensor<T>> segment_masks(masks.begin() + static_cast<std::ptrdiff_t>(first),
                                               masks.begin() + static_cast<std::ptrdiff_t>(first + count));
    std::vector<std::size_t> segment_lengths;  // each sequence's steps within the segment
    for (std::size_t length : lengths) segment_lengths.push_back(length > first ? std::min(count, length - first) : 0);
    CheckpointFn<T> run = [name, cell, segment_masks, segment_lengths, state_size, first, count, batch, reverse,
                           fused](const std::vector<Tensor<T>>& in) {
      RecurrentState<T> initial(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(state_size));
      const Tensor<T> segment_input = reshape(in[state_size], {count, batch, in[state_size].size(1)});
      std::optional<UnrollResult<T>> result;
      try {
        result = impl::run_direction(name, *cell, segment_input, std::move(initial), segment_masks,
                                     segment_lengths, reverse, fused);
      } catch (const StepFailure& e) {
        throw StepFailure(first + e.t, e.original);  // t counts from the segment's first step
      }
      std::vector<Tensor<T>> out = std::move(result->state);
      out.push_back(std::move(result->output));
      return out;
    };
    std::vector<Tensor<T>> inputs = state;
    inputs.push_back(segment_rows[segment]);
    std::vector<Tensor<T>> outputs = checkpoint<T>(run, inputs, params);
    segment_outputs[segment] = std::move(outputs.back());
    outputs.pop_back();
    state = std::move(outputs);
  }
  Tensor<T> output = segment_outputs.size() == 1 ? segment_outputs[0] : concat(segment_outputs, 0);
  return {std::move(output), std::move(state), {}, 1, {}};
}

// `input` [T, B, I] time-major, whatever the caller's layout (batch_first, or
// an unbatched [T, I]); checks its rank, input_size and that it is not empty.
template <class T>
Tensor<T> time_major(const std::string& name, const RecurrentOptions& options, const Tensor<T>& input) {
  if (!input.defined() || (input.dim() != 2 && input.dim() != 3))
    throw Error(name + ": expected a 3-D input [" + (options.batch_first ? "batch, time" : "time, batch") +
                ", input_size] or a 2-D unbatched one [time, input_size], got shape " +
                format_shape(input));
  const bool batched = input.dim() == 3;
  if (input.size(-1) != options.input_size)
    throw Error(name + ": input has inconsistent input_size: got " + std::to_string(input.size(-1)) +
                ", expected " + std::to_string(options.input_size));
  const Tensor<T> x = !batched ? unsqueeze(input, 1) : options.batch_first ? transpose(input, 0, 1) : input;
  if (x.size(0) == 0 || x.size(1) == 0)
    throw Error(name + ": input of shape " + format_shape(input.shape()) + " has no time steps or no sequences");
  return x;
}

// Each given initial state as `cells` blocks [B, size], one per cell
// (initial[k] empty when state k was not given: it starts at zeros).
template <class T>
std::vector<std::vector<Tensor<T>>> initial_blocks(const std::string& name, const RecurrentState<T>& initial_state,
                                                   const std::vector<std::size_t>& sizes, std::size_t cells,
                                                   std::size_t batch, bool batched) {
  if (initial_state.size() > sizes.size())
    throw Error(name + ": got " + std::to_string(initial_state.size()) + " initial state tensors, the cell has " +
                std::to_string(sizes.size()));
  std::vector<std::vector<Tensor<T>>> initial(sizes.size());
  for (std::size_t k = 0; k < initial_state.size(); ++k) {
    if (!initial_state[k].defined()) continue;
    const Shape expected = batched ? Shape{cells, batch, sizes[k]} : Shape{cells, sizes[k]};
    if (initial_state[k].shape() != expected)
      throw Error(name + ": " + state_name(k) + " has shape " + format_shape(initial_state[k].shape()) +
                  ", expected " + format_shape(expected));
    initial[k] = row_blocks(reshape(initial_state[k], {cells * batch, sizes[k]}), batch);
  }
  return initial;
}

// Cell j's starting state: its block of each given initial state, else zeros.
template <class T>
RecurrentState<T> starting_state(const std::vector<std::vector<Tensor<T>>>& initial,
                                 const std::vector<std::size_t>& sizes, std::size_t j, std::size_t batch) {
  RecurrentState<T> state(sizes.size());
  for (std::size_t k = 0; k < sizes.size(); ++k)
    state[k] = initial[k].empty() ? zeros<T>({batch, sizes[k]}) : initial[k][j];
  return state;
}

// One layer in one direction over `layer_input` [T, B, ·]: checkpointed in
// segments with options.checkpoint_segment, else every step on the tape. An
// exception from the cell's step names the layer, direction and time step.
template <class T>
UnrollResult<T> unroll_layer(const std::string& name, const RecurrentOptions& options,
                             const std::shared_ptr<RecurrentCell<T>>& cell, const Tensor<T>& layer_input,
                             RecurrentState<T> state, const std::vector<Tensor<T>>& masks,
                             const std::vector<std::size_t>& lengths, std::size_t layer, bool reverse) {
  const std::size_t segment = options.checkpoint_segment, steps = layer_input.size(0);
  try {
    if (segment == 0)
      return impl::run_direction(name, *cell, layer_input, std::move(state), masks, lengths, reverse, options.fused,
                                 options.retain_step_grads);
    const std::size_t rows = steps * layer_input.size(1);
    return checkpointed_direction(name, cell, reshape(layer_input, {rows, layer_input.size(-1)}), std::move(state),
                                  masks, lengths, reverse, options.fused, segment);
  } catch (const StepFailure& e) {
    throw Error(name + ": in the cell's step at layer " + std::to_string(layer) + ", " +
                (reverse ? "reverse" : "forward") + " direction, time step " + std::to_string(e.t) + " (of 0.." +
                std::to_string(steps - 1) + "): " + e.original);
  }
}

// The last layer's output [T, B, D·H] in the caller's layout, and the final
// states [L·D, B, size] (or [L·D, size] unbatched) from finals[k][cell].
template <class T>
RecurrentOutput<T> recurrent_output(const RecurrentOptions& options, const Tensor<T>& last_output,
                                    const std::vector<std::vector<Tensor<T>>>& finals,
                                    const std::vector<std::size_t>& sizes, bool batched) {
  const std::size_t steps = last_output.size(0), batch = last_output.size(1), cells = finals[0].size();
  RecurrentOutput<T> result;
  const std::size_t features = (options.bidirectional ? 2 : 1) * options.hidden_size;
  result.output = reshape(last_output, {steps, batch, features});
  if (!batched)
    result.output = squeeze(result.output, 1);
  else if (options.batch_first)
    result.output = transpose(result.output, 0, 1);
  for (std::size_t k = 0; k < sizes.size(); ++k)
    result.final_state.push_back(
        reshape(concat(finals[k], 0), batched ? Shape{cells, batch, sizes[k]} : Shape{cells, sizes[k]}));
  return result;
}

}  // namespace

template <class T>
Recurrent<T>::Recurrent(RecurrentOptions options, CellFactory make_cell, Generator& generator)
    : Recurrent("Recurrent", options, std::move(make_cell), generator, /*flat_names=*/false) {}

template <class T>
Recurrent<T>::Recurrent(std::string name, RecurrentOptions options, CellFactory make_cell, Generator& generator,
                        bool flat_names)
    : name_(std::move(name)), options_(options), generator_(&generator), flat_names_(flat_names) {
  if (options.input_size == 0) throw Error(name_ + ": input_size must be greater than zero");
  if (options.hidden_size == 0) throw Error(name_ + ": hidden_size must be greater than zero");
  if (options.num_layers == 0) throw Error(name_ + ": num_layers must be greater than zero");
  check_dropout_probability(name_, options.dropout);
  if (!make_cell) throw Error(name_ + ": no cell factory given");
  const std::size_t directions = num_directions();
  for (std::size_t layer = 0; layer < options.num_layers; ++layer) {
    const std::size_t input_size = layer == 0 ? options.input_size : directions * options.hidden_size;
    for (std::size_t direction = 0; direction < directions; ++direction) {
      const std::string where = name_ + ": the cell of layer " + std::to_string(layer) +
                                (direction ? " (reverse)" : "");
      std::shared_ptr<RecurrentCell<T>> cell = make_cell(input_size);
      if (!cell) throw Error(where + " is null");
      if (cell->input_size() != input_size)
        throw Error(where + " has input_size " + std::to_string(cell->input_size()) + ", expected " +
                    std::to_string(input_size));
      const auto sizes = cell->state_sizes();
      if (sizes.empty() || sizes[0] != options.hidden_size || cell->hidden_size() != options.hidden_size)
        throw Error(where + " has hidden_size " + std::to_string(cell->hidden_size()) + ", expected " +
                    std::to_string(options.hidden_size));
      if (!cells_.empty() && sizes != cells_[0]->state_sizes())
        throw Error(where + " has state sizes different from layer 0's");
      if (flat_names) {
        for (auto& [parameter_name, tensor] : cell->named_parameters())
          this->register_parameter(parameter_name + suffix(layer, direction == 1), tensor);
      } else {
        this->register_module("cell" + suffix(layer, direction == 1), cell);
      }
      cells_.push_back(std::move(cell));
    }
  }
}

template <class T>
std::string Recurrent<T>::suffix(std::size_t layer, bool reverse) {
  return "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
}

template <class T>
const RecurrentCell<T>& Recurrent<T>::cell(std::size_t layer, bool reverse) const {
  if (layer >= options_.num_layers || (reverse && !options_.bidirectional))
    throw Error(name_ + ": no cell for layer " + std::to_string(layer) + (reverse ? " (reverse)" : "") + " in " +
                std::to_string(options_.num_layers) + " layer(s)" + (options_.bidirectional ? "" : ", one direction"));
  return *cells_[layer * num_directions() + (reverse ? 1 : 0)];
}

template <class T>
RecurrentOutput<T> Recurrent<T>::forward(const Tensor<T>& input, const RecurrentState<T>& initial_state,
                                         const std::vector<std::size_t>& lengths) {
  const Tensor<T> x = time_major(name_, options_, input);
  const bool batched = input.dim() == 3;
  const std::size_t steps = x.size(0), batch = x.size(1);
  const std::size_t directions = num_directions(), layers = options_.num_layers;
  const std::vector<std::size_t> sizes = cells_[0]->state_sizes();
  const std::vector<std::vector<Tensor<T>>> initial =
      initial_blocks(name_, initial_state, sizes, layers * directions, batch, batched);
  const std::vector<Tensor<T>> masks = step_masks<T>(name_, lengths, steps, batch);
  if (options_.retain_step_grads && options_.checkpoint_segment > 0)
    throw Error(name_ + ": retain_step_grads needs every step on the tape; it cannot be used with checkpoint_segment");
  release_step_states();
  step_lengths_ = lengths;

  // Layer inputs and outputs stay [T, B, ·]: the projections take all rows at
  // once whatever the leading axes, so no reshape copies the sequence.
  Tensor<T> layer_input = x;
  std::vector<std::vector<Tensor<T>>> finals(sizes.size());  // finals[k][cell]
  for (std::size_t layer = 0; layer < layers; ++layer) {
    std::vector<Tensor<T>> direction_outputs;
    for (std::size_t direction = 0; direction < directions; ++direction) {
      const std::size_t j = layer * directions + direction;
      UnrollResult<T> result = unroll_layer(name_, options_, cells_[j], layer_input,
                                            starting_state(initial, sizes, j, batch), masks, lengths, layer,
                                            direction == 1);
      if (options_.retain_step_grads) {
        if (result.reports.empty())
          for (auto& tensor : result.steps)
            if (tensor.requires_grad()) tensor.retain_grad();
        step_states_.push_back({std::move(result.reports.empty() ? result.steps : result.reports), result.per_step});
      }
      for (std::size_t k = 0; k < sizes.size(); ++k) finals[k].push_back(std::move(result.state[k]));
      direction_outputs.push_back(std::move(result.output));
    }
    layer_input = directions == 1 ? direction_outputs[0] : concat(direction_outputs, 2);
    if (layer + 1 < layers && this->is_training() && options_.dropout > 0)
      layer_input = layer_input * Tensor<T>(dropout_mask<T>(layer_input.shape(), options_.dropout, *generator_));
  }
  return recurrent_output(options_, layer_input, finals, sizes, batched);
}

template <class T>
StepGradients<T> Recurrent<T>::step_gradients(std::size_t layer, bool reverse) const {
  cell(layer, reverse);  // checks the layer and direction
  if (step_states_.empty())
    throw Error(name_ + ": step_gradients needs RecurrentOptions::retain_step_grads and a forward pass");
  const RetainedSteps& steps = step_states_[layer * num_directions() + (reverse ? 1 : 0)];
  const std::vector<std::size_t> sizes = cells_[0]->state_sizes();
  StepGradients<T> result;
  for (std::size_t t = 0; t < steps.count(); ++t) {
    const Tensor<T>* step = steps.step(t);
    const std::size_t batch = step[0].size(0);
    // One tensor holding the states side by side (fused steps), or one per state.
    std::vector<xt::xarray<T>> grads;
    for (std::size_t k = 0, column = 0; k < sizes.size() && k < 2; column += sizes[k], ++k) {
      const Tensor<T>& tensor = steps.per_step == 1 ? step[0] : step[k];
      const std::size_t first = steps.per_step == 1 ? column : 0, width = tensor.size(1);
      xt::xarray<T> g = xt::zeros<T>({batch, sizes[k]});
      if (const Tensor<T> total = tensor.grad(); total.defined())
        for (std::size_t b = 0; b < batch; ++b)
          if (step_lengths_.empty() || t < step_lengths_[b])
            std::copy_n(total.data() + b * width + first, sizes[k], g.data() + b * sizes[k]);
      grads.push_back(std::move(g));
    }
    result.h.emplace_back(std::move(grads[0]));
    if (grads.size() > 1) result.c.emplace_back(std::move(grads[1]));
  }
  return result;
}

template <class T>
Recurrent<T>::~Recurrent() {
  release_step_states();
}

// A retained gradient made under create_graph is a graph that holds the state
// it belongs to (a reference cycle): the layer cuts it when it lets the states go.
template <class T>
void Recurrent<T>::release_step_states() {
  for (auto& direction : step_states_)
    for (auto& tensor : direction.tensors)
      if (tensor.defined()) tensor.zero_grad();
  step_states_.clear();
}

template <class T>
std::vector<RecurrentState<T>> Recurrent<T>::step_states(std::size_t layer, bool reverse) const {
  cell(layer, reverse);  // checks the layer and direction
  if (step_states_.empty())
    throw Error(name_ + ": step_states needs RecurrentOptions::retain_step_grads and a forward pass");
  const std::vector<std::size_t> sizes = cells_[0]->state_sizes();
  std::vector<RecurrentState<T>> result;
  const RetainedSteps& steps = step_states_[layer * num_directions() + (reverse ? 1 : 0)];
  for (std::size_t t = 0; t < steps.count(); ++t) {
    const Tensor<T>* step = steps.step(t);
    RecurrentState<T> values;
    if (steps.per_step == 1 && sizes.size() > 1) {  // fused: the states side by side
      for (std::size_t k = 0, column = 0; k < sizes.size(); column += sizes[k], ++k)
        values.push_back(slice(step[0].detach(), 1, column, column + sizes[k]));
    } else {
      for (std::size_t k = 0; k < steps.per_step; ++k) values.push_back(step[k].detach());
    }
    result.push_back(std::move(values));
  }
  return result;
}

template <class T>
std::string Recurrent<T>::extra_repr() const {
  std::ostringstream out;
  out << options_.input_size << ", " << options_.hidden_size;
  if (options_.num_layers != 1) out << ", num_layers=" << options_.num_layers;
  if (flat_names_ && !options_.bias) out << ", bias=False";  // the built-in cells' option
  if (options_.batch_first) out << ", batch_first=True";
  if (options_.dropout != 0) out << ", dropout=" << options_.dropout;
  if (options_.bidirectional) out << ", bidirectional=True";
  return out.str();
}

template class Recurrent<float>;
template class Recurrent<double>;

}  // namespace rwd::nn
