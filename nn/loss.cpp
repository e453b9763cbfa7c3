#include "loss.hpp"

#include <limits>
#include <string>

#include "../autograd/engine.hpp"
#include "../autograd/ops.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

namespace {

template <class T>
Tensor<T> reduce(const Tensor<T>& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean: return mean(losses);
    case Reduction::Sum: return sum(losses);
    case Reduction::None: return losses;
  }
  throw Error("loss: unknown reduction");
}

void check_same_shape(const char* loss, const char* first, const Shape& a, const char* second, const Shape& b) {
  if (a != b)
    throw Error(std::string(loss) + ": " + first + " has shape " + format_shape(a) + " but " + second +
                " has shape " + format_shape(b) + "; they must be equal");
}

}  // namespace

// L = reduce((input - target)²)
template <class T>
Tensor<T> mse_loss(const Tensor<T>& input, const Tensor<T>& target, Reduction reduction) {
  check_same_shape("mse_loss", "input", input.shape(), "target", target.shape());
  const Tensor<T> difference = input - target;
  return reduce(difference * difference, reduction);
}

// l_n = -Σ_c onehot(targets_n)_c · log_softmax(logits_n)_c   (a row of zeros for an ignored target)
// Mean: Σ_n l_n / #{n : targets_n ≠ ignore_index}
template <class T>
Tensor<T> cross_entropy(const Tensor<T>& logits, const std::vector<std::int64_t>& targets, Reduction reduction,
                        std::int64_t ignore_index) {
  const Shape shape = logits.shape();
  const bool unbatched = shape.size() == 1;
  if (shape.size() != 1 && shape.size() != 2)
    throw Error("cross_entropy: logits must be [N, C] or [C], got " + format_shape(shape) +
                (shape.size() == 3 ? " (reshape [T, B, C] to [T*B, C] first)" : ""));
  const std::size_t batch = unbatched ? 1 : shape[0], classes = shape.back();
  if (targets.size() != batch)
    throw Error("cross_entropy: logits " + format_shape(shape) + " need " + std::to_string(batch) +
                " targets, got " + std::to_string(targets.size()));

  xt::xarray<T> onehot = xt::zeros<T>({batch, classes});
  std::size_t counted = 0;
  for (std::size_t n = 0; n < batch; ++n) {
    const std::int64_t target = targets[n];
    if (target == ignore_index) continue;
    if (target < 0 || static_cast<std::uint64_t>(target) >= classes)
      throw Error("cross_entropy: target " + std::to_string(target) + " at position " + std::to_string(n) +
                  " is out of range for " + std::to_string(classes) + " classes (ignore_index=" +
                  std::to_string(ignore_index) + ")");
    onehot(n, static_cast<std::size_t>(target)) = T(1);
    ++counted;
  }

  const Tensor<T> rows = unbatched ? reshape(logits, {1, classes}) : logits;
  const Tensor<T> losses = -sum(log_softmax(rows, 1) * Tensor<T>(std::move(onehot)), {1});  // [N]
  switch (reduction) {
    case Reduction::None: return unbatched ? reshape(losses, Shape{}) : losses;
    case Reduction::Sum: return sum(losses);
    case Reduction::Mean:
      // PyTorch divides by the number of counted targets: 0/0 = NaN when none is.
      return counted ? sum(losses) / static_cast<T>(counted) : sum(losses) * std::numeric_limits<T>::quiet_NaN();
  }
  throw Error("cross_entropy: unknown reduction");
}

// l = softplus(x) - x y: softplus is computed as max(x, 0) + log(1 + e^{-|x|})
// and differentiates to σ(x), so dl/dx = σ(x) - y holds everywhere (also at x = 0,
// where building the stable form from relu and abs would lose the σ(0) term).
template <class T>
Tensor<T> binary_cross_entropy_with_logits(const Tensor<T>& logits, const Tensor<T>& targets, Reduction reduction) {
  check_same_shape("binary_cross_entropy_with_logits", "logits", logits.shape(), "targets", targets.shape());
  return reduce(softplus(logits) - logits * targets, reduction);
}

#define REWIND_INSTANTIATE(T)                                                                                  \
  template Tensor<T> mse_loss<T>(const Tensor<T>&, const Tensor<T>&, Reduction);                        \
  template Tensor<T> cross_entropy<T>(const Tensor<T>&, const std::vector<std::int64_t>&, Reduction,    \
                                      std::int64_t);                                                    \
  template Tensor<T> binary_cross_entropy_with_logits<T>(const Tensor<T>&, const Tensor<T>&, Reduction);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
