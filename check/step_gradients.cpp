#include "step_gradients.hpp"

#include <algorithm>
#include <memory>

#include "../autograd/grad_mode.hpp"
#include "../autograd/ops.hpp"

namespace rwd::nn {

namespace {

// The model's own cell, unchanged (fused steps included), in a twin layer
// that keeps every step's state and gradient (retain_step_grads).
template <class T>
class SameCell : public RecurrentCell<T> {
 public:
  explicit SameCell(const RecurrentCell<T>& inner) : inner_(inner) {}
  std::string type_name() const override { return inner_.type_name(); }
  std::size_t input_size() const override { return inner_.input_size(); }
  std::size_t hidden_size() const override { return inner_.hidden_size(); }
  std::vector<std::size_t> state_sizes() const override { return inner_.state_sizes(); }
  Tensor<T> project_input(const Tensor<T>& x) const override { return inner_.project_input(x); }
  RecurrentState<T> step(const Tensor<T>& projected_input, const RecurrentState<T>& state) const override {
    return inner_.step(projected_input, state);
  }
  std::optional<UnrollResult<T>> fused_unroll(const Tensor<T>& input, const RecurrentState<T>& state, bool reverse,
                                              const std::vector<std::size_t>& lengths,
                                              bool keep_steps = true) const override {
    return inner_.fused_unroll(input, state, reverse, lengths, keep_steps);
  }

 private:
  const RecurrentCell<T>& inner_;
};

// Restores every parameter's .grad() when it goes out of scope.
template <class T>
class KeepGradients {
 public:
  explicit KeepGradients(std::vector<Tensor<T>> parameters) : parameters_(std::move(parameters)) {
    for (auto& p : parameters_) {
      saved_.push_back(p.grad());
      p.zero_grad();
    }
  }
  ~KeepGradients() {
    for (std::size_t i = 0; i < parameters_.size(); ++i)
      if (saved_[i].defined()) parameters_[i].set_grad(saved_[i]);
      else parameters_[i].zero_grad();
  }
  KeepGradients(const KeepGradients&) = delete;
  KeepGradients& operator=(const KeepGradients&) = delete;

 private:
  std::vector<Tensor<T>> parameters_, saved_;
};

// The input as values [T, B, I], whatever the layout it was given in.
template <class T>
Tensor<T> time_major(const Tensor<T>& input, const RecurrentOptions& options) {
  if (input.dim() == 2) return reshape(input.detach(), {input.size(0), 1, input.size(1)});
  return options.batch_first ? transpose(input.detach(), 0, 1) : input.detach();
}

// The model's options for its twin: every step's state kept, none recomputed.
template <class T>
RecurrentOptions twin_options(const Recurrent<T>& model, const char* op) {
  detail::require_no_active_dropout(op, model, ": the twin layer would draw other masks");
  RecurrentOptions options = model.options();
  options.retain_step_grads = true;
  options.checkpoint_segment = 0;
  return options;
}

// The state before a direction's first step: its row of each given initial
// state ([cells, B, size]), else the cell's zeros.
template <class T>
RecurrentState<T> first_state(const RecurrentCell<T>& cell, const RecurrentState<T>& initial, std::size_t row,
                              std::size_t cells, std::size_t batch) {
  const RecurrentState<T> zero = cell.zero_state(batch);
  RecurrentState<T> s;
  for (std::size_t k = 0; k < zero.size(); ++k)
    s.push_back(k < initial.size() && initial[k].defined()
                    ? reshape(slice(reshape(initial[k], {cells, batch, zero[k].size(1)}), 0, row, row + 1),
                              {batch, zero[k].size(1)})
                    : zero[k]);
  return s;
}

// One layer and direction (r.layer, r.reverse; cell `row` of `cells`): the
// twin's dL/dh_t (and dL/dc_t), and each step's state before and projected
// input. Returns the twin's state after every step, in time order.
template <class T>
std::vector<RecurrentState<T>> direction_steps(LayerStepGradients<T>& r, const Recurrent<T>& twin,
                                               const RecurrentCell<T>& cell, const Tensor<T>& layer_input,
                                               const RecurrentState<T>& initial, std::size_t row, std::size_t cells) {
  static_cast<StepGradients<T>&>(r) = twin.step_gradients(r.layer, r.reverse);
  std::vector<RecurrentState<T>> states = twin.step_states(r.layer, r.reverse);
  const std::size_t steps = layer_input.size(0), batch = layer_input.size(1);
  for (std::size_t t = 0; t < steps; ++t) {
    // before step t: the state of the step before in this direction's order, or the initial state
    const bool first = r.reverse ? t + 1 == steps : t == 0;
    if (!first)
      r.state_before.push_back(states[r.reverse ? t + 1 : t - 1]);
    else
      r.state_before.push_back(first_state(cell, initial, row, cells, batch));
    const Tensor<T> x_t = reshape(slice(layer_input, 0, t, t + 1), {batch, layer_input.size(2)});
    r.projected_input.push_back(cell.project_input(x_t));
  }
  return states;
}

// The next layer's input [T, B, D·H]: the directions' h_t side by side.
template <class T>
Tensor<T> next_layer_input(const std::vector<std::vector<RecurrentState<T>>>& states, std::size_t steps) {
  const std::size_t D = states.size();
  std::vector<Tensor<T>> rows;
  for (std::size_t t = 0; t < steps; ++t) {
    std::vector<Tensor<T>> h;
    for (std::size_t d = 0; d < D; ++d) h.push_back(states[d][t][0]);
    rows.push_back(D == 1 ? h[0] : concat(h, 1));
  }
  return stack(rows, 0);
}

}  // namespace

template <class T>
void detail::require_no_active_dropout(const char* op, const Recurrent<T>& model, const std::string& why) {
  const RecurrentOptions& options = model.options();
  if (options.dropout > 0 && options.num_layers > 1 && model.is_training())
    throw Error(std::string(op) + ": dropout is active (call eval() first)" + why);
}

template <class T>
std::vector<LayerStepGradients<T>> step_gradients(
    Recurrent<T>& model, const Tensor<T>& input, const RecurrentState<T>& initial_state,
    const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss) {
  const char* op = "step_gradients";
  if (!loss) throw Error(std::string(op) + ": no loss function given");
  const RecurrentOptions options = twin_options(model, op);
  const std::size_t D = model.num_directions(), n = options.num_layers * D;
  std::size_t made = 0;
  Recurrent<T> twin(options, [&model, &made, D](std::size_t) -> std::shared_ptr<RecurrentCell<T>> {
    const std::size_t k = made++;
    return std::make_shared<SameCell<T>>(model.cell(k / D, k % D == 1));
  });
  twin.train(model.is_training());

  // One forward and one backward of the model's own path; the parameters'
  // .grad() are put back as they were.
  KeepGradients<T> keep(model.parameters());
  RecurrentState<T> initial;
  for (const auto& s : initial_state) initial.push_back(s.defined() ? Tensor<T>(s.value()) : Tensor<T>());
  const Tensor<T> output = twin.forward(Tensor<T>(input.value(), /*requires_grad=*/true), initial).output;
  const Tensor<T> l = loss(output);
  if (l.requires_grad()) l.backward();

  NoGradGuard no_grad;
  std::vector<LayerStepGradients<T>> out(n);
  Tensor<T> layer_input = time_major(input, options);  // [T, B, ·]
  const std::size_t steps = layer_input.size(0);
  for (std::size_t layer = 0; layer < options.num_layers; ++layer) {
    std::vector<std::vector<RecurrentState<T>>> states(D);
    for (std::size_t d = 0; d < D; ++d) {
      LayerStepGradients<T>& r = out[layer * D + d];
      r.layer = layer;
      r.reverse = d == 1;
      states[d] = direction_steps(r, twin, model.cell(layer, r.reverse), layer_input, initial, layer * D + d, n);
    }
    layer_input = next_layer_input(states, steps);
  }
  return out;
}

template std::vector<LayerStepGradients<float>> step_gradients<float>(
    Recurrent<float>&, const Tensor<float>&, const RecurrentState<float>&,
    const std::function<Tensor<float>(const Tensor<float>&)>&);
template std::vector<LayerStepGradients<double>> step_gradients<double>(
    Recurrent<double>&, const Tensor<double>&, const RecurrentState<double>&,
    const std::function<Tensor<double>(const Tensor<double>&)>&);
template void detail::require_no_active_dropout<float>(const char*, const Recurrent<float>&, const std::string&);
template void detail::require_no_active_dropout<double>(const char*, const Recurrent<double>&, const std::string&);

}  // namespace rwd::nn
