#include "init.hpp"

#include <cmath>
#include <string>
#include <vector>

#include "../autograd/engine.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn::init {

namespace {

template <class T>
void require_matrix_like(const char* what, const Tensor<T>& tensor) {
  if (!tensor.defined()) throw Error(std::string(what) + ": the tensor is undefined");
  if (tensor.dim() < 2)
    throw Error(std::string(what) + ": needs a tensor with at least 2 dimensions, got shape " +
                format_shape(tensor.shape()));
}

}  // namespace

template <class T>
Tensor<T> uniform_(Tensor<T> tensor, std::type_identity_t<T> low, std::type_identity_t<T> high, Generator& generator) {
  if (!(low <= high))
    throw Error("uniform_: low (" + std::to_string(low) + ") is greater than high (" + std::to_string(high) + ")");
  for (auto& v : tensor.mutable_value()) v = static_cast<T>(low + (high - low) * generator.next_unit());
  return tensor;
}

template <class T>
Tensor<T> zeros_(Tensor<T> tensor) {
  tensor.mutable_value().fill(T(0));
  return tensor;
}

template <class T>
Tensor<T> xavier_uniform_(Tensor<T> tensor, std::type_identity_t<T> gain, Generator& generator) {
  require_matrix_like("xavier_uniform_", tensor);
  const Shape shape = tensor.shape();
  const std::size_t receptive_field = tensor.numel() / (shape[0] * shape[1]);
  const double fan_in = static_cast<double>(shape[1] * receptive_field);
  const double fan_out = static_cast<double>(shape[0] * receptive_field);
  const T bound = static_cast<T>(gain * std::sqrt(6.0 / (fan_in + fan_out)));
  return uniform_(tensor, -bound, bound, generator);
}

template <class T>
Tensor<T> orthogonal_(Tensor<T> tensor, std::type_identity_t<T> gain, Generator& generator) {
  require_matrix_like("orthogonal_", tensor);
  const std::size_t rows = tensor.size(0), cols = tensor.numel() / rows;
  // Work on the tall orientation: m >= n columns to orthonormalise, in double.
  const bool tall = rows >= cols;
  const std::size_t m = tall ? rows : cols, n = tall ? cols : rows;
  std::vector<double> a(m * n);  // a[i * n + j] = A(i, j)
  for (auto& v : a) v = generator.next_normal();
  auto column_dot = [&](std::size_t p, std::size_t q) {
    double s = 0;
    for (std::size_t i = 0; i < m; ++i) s += a[i * n + p] * a[i * n + q];
    return s;
  };
  // Modified Gram–Schmidt: q_j = (a_j - Σ_{p<j} (q_p·a_j) q_p) / ‖…‖, so R's
  // diagonal (the norms) is positive, the sign convention PyTorch enforces.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t p = 0; p < j; ++p) {
        const double r = column_dot(p, j);
        for (std::size_t i = 0; i < m; ++i) a[i * n + j] -= r * a[i * n + p];
      }
      const double norm = std::sqrt(column_dot(j, j));
      if (!(norm > 0)) throw Error("orthogonal_: the random matrix is rank deficient");  // probability 0
      for (std::size_t i = 0; i < m; ++i) a[i * n + j] /= norm;
    }
  }
  T* out = tensor.mutable_data();
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      out[r * cols + c] = static_cast<T>(gain * (tall ? a[r * n + c] : a[c * n + r]));
  return tensor;
}

#define REWIND_INSTANTIATE(T)                                                                            \
  template Tensor<T> uniform_<T>(Tensor<T>, std::type_identity_t<T>, std::type_identity_t<T>,     \
                                 Generator&);                                                     \
  template Tensor<T> zeros_<T>(Tensor<T>);                                                        \
  template Tensor<T> xavier_uniform_<T>(Tensor<T>, std::type_identity_t<T>, Generator&);          \
  template Tensor<T> orthogonal_<T>(Tensor<T>, std::type_identity_t<T>, Generator&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn::init
