#include "checkpointed_unroll.hpp"

#include <algorithm>
#include <memory>

#include "../autograd/checkpoint.hpp"
#include "../autograd/ops.hpp"
#include "recurrent_unroll.hpp"

namespace rwd::nn {

namespace {

using Kind = CheckpointSchedule::Kind;

// The states of some cells, one RecurrentState per cell, and a loss.
template <class T>
struct Carry {
  std::vector<RecurrentState<T>> cells;
  Tensor<T> loss;
};

template <class T>
void add_loss(Tensor<T>& total, const Tensor<T>& loss) {
  if (loss.defined()) total = total.defined() ? total + loss : loss;
}

// What every piece of the unroll shares; held by the checkpoints' closures
// (their backward runs the pieces again).
template <class T>
struct Unroll {
  const Recurrent<T>* layer;
  std::string name;
  Tensor<T> x;  // [T, B, I], time-major
  std::vector<std::size_t> lengths;
  Readout<T> readout;
  CheckpointSchedule schedule;
  std::vector<Tensor<T>> params;  // the cells' and the readout's
  std::size_t batch, directions, layers, per_cell;

  std::size_t first_step(std::size_t unit) const { return std::min(unit * schedule.unit, schedule.steps); }
  const RecurrentCell<T>& cell(std::size_t j) const { return layer->cell(j / directions, j % directions == 1); }

  // masks[t] [B, 1] of steps [first, first + count) where some sequence has
  // ended (undefined elsewhere), and each sequence's steps among them.
  std::pair<std::vector<Tensor<T>>, std::vector<std::size_t>> masks(std::size_t first, std::size_t count) const {
    std::vector<Tensor<T>> result(count);
    std::vector<std::size_t> within;
    if (lengths.empty()) return {result, within};
    for (std::size_t length : lengths) within.push_back(length > first ? std::min(count, length - first) : 0);
    const std::size_t shortest = *std::min_element(lengths.begin(), lengths.end());
    for (std::size_t t = std::max(first, shortest); t < first + count; ++t) {
      xt::xarray<T> mask = xt::xarray<T>::from_shape({batch, 1});
      for (std::size_t b = 0; b < batch; ++b) mask(b, 0) = t < lengths[b] ? T(1) : T(0);
      result[t - first] = Tensor<T>(std::move(mask));
    }
    return {result, within};
  }

  // Steps [first, first + count) of the layers below `top` (every direction,
  // from entering[j]) and of the cells `top_cells` of layer `top`: their
  // leaving states (in `entering`'s place) and the top layer's outputs
  // [count, B, ·] of those cells side by side.
  Tensor<T> run_layers(std::size_t first, std::size_t count, std::vector<RecurrentState<T>>& states, std::size_t top,
                       const std::vector<std::size_t>& top_cells) const {
    const auto [step_masks, within] = masks(first, count);
    Tensor<T> input = slice(x, 0, first, first + count);
    for (std::size_t l = 0; l <= top; ++l) {
      std::vector<Tensor<T>> outputs;
      for (std::size_t d = 0; d < directions; ++d) {
        const std::size_t j = l * directions + d;
        if (l == top && std::find(top_cells.begin(), top_cells.end(), j) == top_cells.end()) continue;
        UnrollResult<T> r = impl::run_direction(name, cell(j), input, std::move(states[j]), step_masks, within, d == 1,
                                                layer->options().fused);
        states[j] = std::move(r.state);
        outputs.push_back(std::move(r.output));
      }
      input = outputs.size() == 1 ? outputs[0] : concat(outputs, 2);
    }
    return input;
  }

  std::vector<std::size_t> all_cells(std::size_t l) const {
    std::vector<std::size_t> cells;
    for (std::size_t d = 0; d < directions; ++d) cells.push_back(l * directions + d);
    return cells;
  }

  // One direction: units [a, b) on the tape, all layers, then the readout.
  Carry<T> taped(std::size_t a, std::size_t b, Carry<T> carry) const {
    const std::size_t first = first_step(a), count = first_step(b) - first;
    const Tensor<T> h = run_layers(first, count, carry.cells, layers - 1, all_cells(layers - 1));
    add_loss(carry.loss, readout.loss(first, h));
    return carry;
  }

  std::vector<Tensor<T>> flatten(const Carry<T>& carry) const {
    std::vector<Tensor<T>> flat;
    for (const auto& state : carry.cells) flat.insert(flat.end(), state.begin(), state.end());
    if (carry.loss.defined()) flat.push_back(carry.loss);
    return flat;
  }
  Carry<T> unflatten(const std::vector<Tensor<T>>& flat, std::size_t cells) const {
    Carry<T> carry;
    for (std::size_t j = 0; j < cells; ++j)
      carry.cells.emplace_back(flat.begin() + std::ptrdiff_t(j * per_cell), flat.begin() + std::ptrdiff_t((j + 1) * per_cell));
    if (flat.size() > cells * per_cell) carry.loss = flat.back();
    return carry;
  }

  // One direction: units [a, b) under one checkpoint; `slots` for a binomial schedule.
  Carry<T> checkpointed(const std::shared_ptr<const Unroll>& self, std::size_t a, std::size_t b, std::size_t slots,
                        Carry<T> carry) const {
    Tensor<T> loss_before = std::move(carry.loss);
    carry.loss = Tensor<T>();
    const std::size_t cells = carry.cells.size();
    CheckpointFn<T> fn = [self, a, b, slots, cells](const std::vector<Tensor<T>>& in) {
      Carry<T> start = self->unflatten(in, cells);
      return self->flatten(self->schedule.kind == Kind::segments ? self->taped(a, b, std::move(start))
                                                                 : self->binomial(self, a, b, slots, std::move(start)));
    };
    Carry<T> out = unflatten(checkpoint<T>(fn, flatten(carry), params), cells);
    add_loss(loss_before, out.loss);
    out.loss = std::move(loss_before);
    return out;
  }

  // Revolve over units [a, b) with `slots`: keep the state at a + m, reverse
  // the rest with one slot fewer (inline), the first m under a checkpoint.
  Carry<T> binomial(const std::shared_ptr<const Unroll>& self, std::size_t a, std::size_t b, std::size_t slots,
                    Carry<T> carry) const {
    for (; b - a > 1; --slots) {
      const std::size_t m = binomial_split(b - a, slots);
      carry = checkpointed(self, a, a + m, slots, std::move(carry));
      a += m;
    }
    return taped(a, b, std::move(carry));
  }

  // Segments: each but the last under a checkpoint, the last on the tape.
  Carry<T> segments(const std::shared_ptr<const Unroll>& self, Carry<T> carry) const {
    const std::size_t units = schedule.units();
    for (std::size_t u = 0; u + 1 < units; ++u) carry = checkpointed(self, u, u + 1, 0, std::move(carry));
    return taped(units - 1, units, std::move(carry));
  }

  Carry<T> bidirectional(const std::shared_ptr<const Unroll>& self, Carry<T> carry) const;
};

// Bidirectional, in segments: entering[j][n], cell j's state at segment n's
// entering edge, by one checkpoint chain per cell in layer order (each node
// recomputes the layers below from their entering states); then one readout
// checkpoint per segment over every cell's entering state.
template <class T>
Carry<T> Unroll<T>::bidirectional(const std::shared_ptr<const Unroll>& self, Carry<T> carry) const {
  const std::size_t units = schedule.units(), cells = layers * directions;
  std::vector<std::vector<RecurrentState<T>>> entering(units, std::vector<RecurrentState<T>>(cells));
  for (std::size_t j = 0; j < cells; ++j) {
    const bool reverse = j % directions == 1;
    RecurrentState<T> state = carry.cells[j];
    for (std::size_t i = 0; i < units; ++i) {
      const std::size_t n = reverse ? units - 1 - i : i, top = j / directions;
      entering[n][j] = state;
      CheckpointFn<T> fn = [self, n, j, top](const std::vector<Tensor<T>>& in) {
        Carry<T> start = self->unflatten(in, j + 1);
        start.cells.resize(self->layers * self->directions);
        const std::size_t first = self->first_step(n);
        self->run_layers(first, self->first_step(n + 1) - first, start.cells, top, {j});
        return start.cells[j];
      };
      std::vector<RecurrentState<T>> inputs(entering[n].begin(), entering[n].begin() + std::ptrdiff_t(j + 1));
      state = checkpoint<T>(fn, flatten(Carry<T>{inputs, Tensor<T>()}), params);
    }
    carry.cells[j] = std::move(state);
  }
  for (std::size_t n = 0; n < units; ++n) {
    CheckpointFn<T> fn = [self, n, cells](const std::vector<Tensor<T>>& in) {
      Carry<T> start = self->unflatten(in, cells);
      const std::size_t first = self->first_step(n);
      const Tensor<T> h = self->run_layers(first, self->first_step(n + 1) - first, start.cells, self->layers - 1,
                                           self->all_cells(self->layers - 1));
      const Tensor<T> loss = self->readout.loss(first, h);
      return std::vector<Tensor<T>>{loss.defined() ? loss : zeros<T>({1})};
    };
    add_loss(carry.loss, checkpoint<T>(fn, flatten(Carry<T>{entering[n], Tensor<T>()}), params)[0]);
  }
  return carry;
}

}  // namespace

namespace {

template <class T>
CheckpointSchedule choose_schedule(const Recurrent<T>& layer, const CheckpointedUnrollOptions& o, std::size_t steps,
                                   std::size_t batch) {
  if (o.schedule) {
    if (o.schedule->steps != steps)
      throw Error("checkpointed_unroll: the schedule is for " + std::to_string(o.schedule->steps) +
                  " steps, the input has " + std::to_string(steps));
    return *o.schedule;
  }
  if (o.slots) return schedule_for_slots(steps, o.slots);
  if (o.memory_bytes)
    return schedule_for_budget(steps, o.memory_bytes, state_bytes(layer, batch), estimated_step_bytes(layer, batch));
  return segment_schedule(steps, o.segment);
}

// What the layer, the input and the lengths must be; returns the input time-major.
template <class T>
Tensor<T> checked_input(const Recurrent<T>& layer, const Tensor<T>& input, const Readout<T>& readout,
                        const std::vector<std::size_t>& lengths) {
  const std::string name = "checkpointed_unroll (" + layer.type_name() + ")";
  const RecurrentOptions& o = layer.options();
  if (!input.defined() || input.dim() != 3 || input.size(-1) != o.input_size || input.size(0) == 0 || input.size(1) == 0)
    throw Error(name + ": expected a non-empty input [" + (o.batch_first ? "batch, time" : "time, batch") + ", " +
                std::to_string(o.input_size) + "], got shape " + format_shape(input));
  if (input.requires_grad())
    throw Error(name + ": the input requires grad; it must be data (each piece's gradient would be as long as the "
                "whole sequence): run Recurrent::forward with checkpoint_segment instead");
  if (!readout.loss) throw Error(name + ": the readout has no loss function");
  if (layer.is_training() && o.dropout > 0 && o.num_layers > 1)
    throw Error(name + ": dropout between layers in training mode is not supported (its masks would be as long as the "
                "sequence); call eval() or set dropout to 0");
  const Tensor<T> x = o.batch_first ? transpose(input, 0, 1) : input;
  if (!lengths.empty() && lengths.size() != x.size(1))
    throw Error(name + ": lengths has " + std::to_string(lengths.size()) + " entries, expected one per sequence (" +
                std::to_string(x.size(1)) + ")");
  for (std::size_t b = 0; b < lengths.size(); ++b)
    if (lengths[b] == 0 || lengths[b] > x.size(0))
      throw Error(name + ": lengths[" + std::to_string(b) + "] = " + std::to_string(lengths[b]) +
                  " is out of range [1, " + std::to_string(x.size(0)) + "]");
  return x;
}

// Cell j's starting state: its row of each given initial state, else zeros.
template <class T>
std::vector<RecurrentState<T>> starting_states(const Recurrent<T>& layer, const RecurrentState<T>& initial,
                                               std::size_t batch) {
  const std::vector<std::size_t> sizes = layer.cell(0).state_sizes();
  const std::size_t cells = layer.options().num_layers * layer.num_directions();
  if (initial.size() > sizes.size())
    throw Error("checkpointed_unroll: got " + std::to_string(initial.size()) + " initial state tensors, the cell has " +
                std::to_string(sizes.size()));
  std::vector<RecurrentState<T>> states(cells);
  for (std::size_t k = 0; k < sizes.size(); ++k) {
    const bool given = k < initial.size() && initial[k].defined();
    if (given && initial[k].shape() != Shape{cells, batch, sizes[k]})
      throw Error("checkpointed_unroll: initial state " + std::to_string(k) + " has shape " +
                  format_shape(initial[k].shape()) + ", expected " + format_shape(Shape{cells, batch, sizes[k]}));
    for (std::size_t j = 0; j < cells; ++j)
      states[j].push_back(given ? select(initial[k], 0, j) : zeros<T>({batch, sizes[k]}));
  }
  return states;
}

}  // namespace

template <class T>
CheckpointedUnrollResult<T> checkpointed_unroll(const Recurrent<T>& layer, const Tensor<T>& input,
                                                const Readout<T>& readout, const CheckpointedUnrollOptions& options,
                                                const RecurrentState<T>& initial_state,
                                                const std::vector<std::size_t>& lengths) {
  const Tensor<T> x = checked_input(layer, input, readout, lengths);
  const std::size_t steps = x.size(0), batch = x.size(1), directions = layer.num_directions();
  auto unroll = std::make_shared<Unroll<T>>(Unroll<T>{&layer, "checkpointed_unroll (" + layer.type_name() + ")", x,
                                                      lengths, readout, choose_schedule(layer, options, steps, batch),
                                                      layer.parameters(), batch, directions,
                                                      layer.options().num_layers, layer.cell(0).state_sizes().size()});
  unroll->params.insert(unroll->params.end(), readout.params.begin(), readout.params.end());
  if (directions == 2 && unroll->schedule.kind != Kind::segments)
    throw Error(unroll->name + ": a bidirectional layer runs in segments only; the schedule is " +
                unroll->schedule.describe());
  Carry<T> carry{starting_states(layer, initial_state, batch), Tensor<T>()};
  const std::shared_ptr<const Unroll<T>> self = unroll;
  carry = directions == 2                                ? unroll->bidirectional(self, std::move(carry))
          : unroll->schedule.kind == Kind::segments ? unroll->segments(self, std::move(carry))
                                                         : unroll->binomial(self, 0, unroll->schedule.units(),
                                                                            unroll->schedule.slots, std::move(carry));
  CheckpointedUnrollResult<T> result{std::move(carry.loss), {}, unroll->schedule};
  for (std::size_t k = 0; k < unroll->per_cell; ++k) {
    std::vector<Tensor<T>> rows;
    for (const auto& state : carry.cells) rows.push_back(unsqueeze(state[k], 0));
    result.final_state.push_back(concat(rows, 0));
  }
  return result;
}

template <class T>
std::size_t state_bytes(const Recurrent<T>& layer, std::size_t batch) {
  std::size_t width = 0;
  for (std::size_t size : layer.cell(0).state_sizes()) width += size;
  return layer.options().num_layers * layer.num_directions() * batch * width * sizeof(T);
}

// A fused step keeps a few [B, G·H] blocks (its projected input, what its
// backward reads) and its output; the readout's records come on top.
template <class T>
std::size_t estimated_step_bytes(const Recurrent<T>& layer, std::size_t batch) {
  const std::size_t hidden = layer.options().hidden_size, cells = layer.options().num_layers * layer.num_directions();
  return cells * (batch * sizeof(T) * 8 * hidden + 1024);
}

#define REWIND_INSTANTIATE(T)                                                                                      \
  template CheckpointedUnrollResult<T> checkpointed_unroll<T>(const Recurrent<T>&, const Tensor<T>&,              \
                                                              const Readout<T>&, const CheckpointedUnrollOptions&, \
                                                              const RecurrentState<T>&, const std::vector<std::size_t>&); \
  template std::size_t state_bytes<T>(const Recurrent<T>&, std::size_t);                                           \
  template std::size_t estimated_step_bytes<T>(const Recurrent<T>&, std::size_t);
REWIND_INSTANTIATE(float)
REWIND_INSTANTIATE(double)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
