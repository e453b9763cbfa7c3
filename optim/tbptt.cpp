#include "tbptt.hpp"

#include <algorithm>
#include <string>

#include "../autograd/ops.hpp"
#include "clip_grad.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::optim {

namespace {
template <class T>
RecurrentState<T> detached(const RecurrentState<T>& state) {
  RecurrentState<T> out;
  for (const auto& s : state) out.push_back(s.defined() ? s.detach() : s);
  return out;
}
}  // namespace

template <class T>
TBPTTResult<T> truncated_bptt(std::size_t length, RecurrentState<T> initial_state,
                              const std::type_identity_t<ForwardChunk<T>>& forward_chunk,
                              const std::function<void()>& update, TBPTTOptions options) {
  const std::size_t k1 = options.k1, k2 = options.k2 == 0 ? options.k1 : options.k2;
  if (k1 < 1) throw Error("truncated_bptt: k1 must be >= 1 (steps between updates), got 0");
  if (k2 < k1)
    throw Error("truncated_bptt: k2 (backpropagation depth) must be >= k1, got k1=" + std::to_string(k1) +
                ", k2=" + std::to_string(k2));
  if (!forward_chunk) throw Error("truncated_bptt: forward_chunk is empty");
  const std::size_t overlap = k2 - k1;

  TBPTTResult<T> result;
  RecurrentState<T> start_state = std::move(initial_state);  // the state at window_start
  const std::size_t state_size = start_state.size();
  std::size_t window_start = 0, loss_start = 0;
  RecurrentState<T> state = start_state;
  while (loss_start < length) {
    const std::size_t t = std::min(loss_start + k1, length);
    const std::size_t next_start = t > overlap ? t - overlap : 0;
    // Segment boundaries: the window's start and end, where the counted losses
    // begin, and where the next window will start (its state is saved there).
    std::vector<std::size_t> bounds{window_start, loss_start, next_start, t};
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

    state = start_state;
    RecurrentState<T> next_state = next_start == window_start ? start_state : RecurrentState<T>{};
    Tensor<T> loss;
    for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
      const std::size_t begin = bounds[b], end = bounds[b + 1];
      ChunkOutput<T> out = forward_chunk(begin, end, state);
      if (out.state.size() != state_size)
        throw Error("truncated_bptt: forward_chunk returned a state of " + std::to_string(out.state.size()) +
                    " tensors for steps [" + std::to_string(begin) + ", " + std::to_string(end) + "), expected " +
                    std::to_string(state_size));
      state = std::move(out.state);
      if (begin >= loss_start && out.loss.defined()) loss = loss.defined() ? loss + out.loss : out.loss;
      if (end == next_start) next_state = detached(state);
    }
    if (loss.defined()) {
      if (loss.numel() != 1)
        throw Error("truncated_bptt: the loss of steps [" + std::to_string(loss_start) + ", " + std::to_string(t) +
                    ") has shape " + format_shape(loss.shape()) + ", expected a single value");
      loss.backward();
      result.losses.push_back(static_cast<double>(loss.item()));
      if (update) update();
    }
    start_state = std::move(next_state);
    window_start = next_start;
    loss_start = t;
  }
  result.final_state = detached(state);
  return result;
}

template <class T>
TBPTTResult<T> truncated_bptt(std::size_t length, RecurrentState<T> initial_state,
                              const std::type_identity_t<ForwardChunk<T>>& forward_chunk, Optimizer<T>& optimizer,
                              TBPTTOptions options) {
  detail::check_option(options.max_grad_norm >= 0, "truncated_bptt", "max_grad_norm", options.max_grad_norm,
                       "max_grad_norm >= 0 (0: no clipping)");
  optimizer.zero_grad();
  const std::vector<Tensor<T>> params = optimizer.all_params();
  auto update = [&] {
    if (options.max_grad_norm > 0) clip_grad_norm_(params, options.max_grad_norm);
    optimizer.step();
    optimizer.zero_grad();
  };
  return truncated_bptt<T>(length, std::move(initial_state), forward_chunk, update, options);
}

template <class T>
ForwardChunk<T> chunk_from_steps(ForwardStep<T> step) {
  if (!step) throw Error("chunk_from_steps: the step function is empty");
  return [step = std::move(step)](std::size_t begin, std::size_t end, const RecurrentState<T>& initial) {
    ChunkOutput<T> out{initial, Tensor<T>()};
    for (std::size_t t = begin; t < end; ++t) {
      ChunkOutput<T> s = step(t, out.state);
      out.state = std::move(s.state);
      if (s.loss.defined()) out.loss = out.loss.defined() ? out.loss + s.loss : s.loss;
    }
    return out;
  };
}

#define REWIND_INSTANTIATE(T)                                                                                  \
  template TBPTTResult<T> truncated_bptt<T>(std::size_t, RecurrentState<T>,                                    \
                                            const std::type_identity_t<ForwardChunk<T>>&,                      \
                                            const std::function<void()>&, TBPTTOptions);                       \
  template TBPTTResult<T> truncated_bptt<T>(std::size_t, RecurrentState<T>,                                    \
                                            const std::type_identity_t<ForwardChunk<T>>&, Optimizer<T>&,       \
                                            TBPTTOptions);                                                     \
  template ForwardChunk<T> chunk_from_steps<T>(ForwardStep<T>);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::optim
