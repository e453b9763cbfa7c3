#include "step_gradients.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

#include "../autograd/engine.hpp"
#include "../autograd/grad_mode.hpp"

namespace rwd::nn {

namespace {

// Runs another cell and keeps every state it starts from and returns, and each input.
template <class T>
class RecordingCell : public RecurrentCell<T> {
 public:
  RecordingCell(const RecurrentCell<T>& inner, LayerStepGradients<T>& record, std::vector<CellState<T>>& returned)
      : inner_(inner), record_(record), returned_(returned) {}
  std::string type_name() const override { return "RecordingCell"; }
  std::size_t input_size() const override { return inner_.input_size(); }
  std::size_t hidden_size() const override { return inner_.hidden_size(); }
  std::vector<std::size_t> state_sizes() const override { return inner_.state_sizes(); }
  Tensor<T> project_input(const Tensor<T>& x) const override { return inner_.project_input(x); }
  CellState<T> step(const Tensor<T>& projected_input, const CellState<T>& state) const override {
    CellState<T> next = inner_.step(projected_input, state);
    record_.state_before.push_back(state);
    record_.projected_input.push_back(projected_input);
    returned_.push_back(next);
    return next;
  }

 private:
  const RecurrentCell<T>& inner_;
  LayerStepGradients<T>& record_;
  std::vector<CellState<T>>& returned_;
};

// The same numbers up to rounding (the replay runs op by op, the model may run fused steps).
template <class T>
bool values_differ(const xt::xarray<T>& a, const xt::xarray<T>& b) {
  if (a.size() != b.size()) return true;
  const T tolerance = 64 * std::numeric_limits<T>::epsilon();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::abs(a.data()[i] - b.data()[i]) <= tolerance * (1 + std::abs(b.data()[i])))) return true;
  return false;
}

}  // namespace

template <class T>
std::vector<LayerStepGradients<T>> step_gradients(
    Recurrent<T>& model, const Tensor<T>& input, const CellState<T>& initial_state,
    const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss) {
  const char* op = "step_gradients";
  if (!loss) throw Error(std::string(op) + ": no loss function given");
  const RecurrentOptions& options = model.options();
  if (options.dropout > 0 && options.num_layers > 1 && model.is_training())
    throw Error(std::string(op) + ": dropout is active (call eval() first): the replay would draw other masks");
  const std::size_t D = model.num_directions(), n = options.num_layers * D;
  std::vector<LayerStepGradients<T>> out(n);
  std::vector<std::vector<CellState<T>>> returned(n);
  auto next = std::make_shared<std::size_t>(0);
  Recurrent<T> replay(options, [&model, &out, &returned, next, D](std::size_t) -> std::shared_ptr<RecurrentCell<T>> {
    const std::size_t k = (*next)++;
    out[k].layer = k / D;
    out[k].reverse = k % D == 1;
    return std::make_shared<RecordingCell<T>>(model.cell(k / D, k % D == 1), out[k], returned[k]);
  });
  replay.train(model.is_training());
  CellState<T> detached;
  for (const auto& s : initial_state) detached.push_back(s.defined() ? Tensor<T>(s.value()) : Tensor<T>());
  const Tensor<T> output = replay.forward(Tensor<T>(input.value()), detached).output;
  {
    NoGradGuard no_grad;
    const Tensor<T> reference = model.forward(Tensor<T>(input.value()), detached).output;
    if (values_differ(output.value(), reference.value()))
      throw Error(std::string(op) + ": replaying the cells gave a different output than the model's forward");
  }
  // One grad() call for every state tensor of every step.
  std::vector<Tensor<T>> states;
  for (const auto& layer : returned)
    for (const auto& s : layer) states.insert(states.end(), s.begin(), s.end());
  const auto dstates = grad<T>({loss(output)}, states, {}, false, false, /*allow_unused=*/true);
  std::size_t i = 0;
  for (std::size_t k = 0; k < n; ++k) {
    auto& r = out[k];
    for (const auto& s : returned[k]) {
      r.h.push_back(dstates[i]);
      if (s.size() > 1) r.c.push_back(dstates[i + 1]);
      i += s.size();
    }
    if (r.reverse) {  // the reverse direction ran t = T..1
      std::reverse(r.h.begin(), r.h.end());
      std::reverse(r.c.begin(), r.c.end());
      std::reverse(r.state_before.begin(), r.state_before.end());
      std::reverse(r.projected_input.begin(), r.projected_input.end());
    }
  }
  return out;
}

template std::vector<LayerStepGradients<float>> step_gradients<float>(
    Recurrent<float>&, const Tensor<float>&, const CellState<float>&,
    const std::function<Tensor<float>(const Tensor<float>&)>&);
template std::vector<LayerStepGradients<double>> step_gradients<double>(
    Recurrent<double>&, const Tensor<double>&, const CellState<double>&,
    const std::function<Tensor<double>(const Tensor<double>&)>&);

}  // namespace rwd::nn
