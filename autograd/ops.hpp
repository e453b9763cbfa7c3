// Every differentiable op of Rewind. Each is defined once, forward and
// backward side by side, in the source file named in its section. Binary
// elementwise ops broadcast as NumPy does; their backward reduces the gradient
// to each input's shape with sum_to (broadcast.cpp), the one shared helper.
// Axes may be negative (counted from the end). Shape errors throw rwd::Error
// naming the op and the shapes.
#pragma once

#include <concepts>
#include <string>
#include <type_traits>
#include <vector>

#include "engine.hpp"
#include "tensor.hpp"

namespace rwd {

// ---- broadcasting (broadcast.cpp) -------------------------------------------
// The NumPy broadcast of two shapes; throws naming `op` if they do not broadcast.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
// y = x broadcast to `shape`          dy/dx: sum_to(g, x.shape)
template <class T> Tensor<T> expand(const Tensor<T>& x, const Shape& shape);
// y = g summed over broadcast axes so y.shape == shape   (backward: expand)
template <class T> Tensor<T> sum_to(const Tensor<T>& g, const Shape& shape);

// ---- arithmetic (arithmetic.cpp) --------------------------------------------
template <class T> Tensor<T> add(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> sub(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> mul(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> div(const Tensor<T>& a, const Tensor<T>& b);
template <class T> Tensor<T> neg(const Tensor<T>& a);
template <class T> Tensor<T> add_scalar(const Tensor<T>& a, T s);  // a + s
template <class T> Tensor<T> mul_scalar(const Tensor<T>& a, T s);  // a * s

template <class T> Tensor<T> operator+(const Tensor<T>& a, const Tensor<T>& b) { return add(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a, const Tensor<T>& b) { return sub(a, b); }
template <class T> Tensor<T> operator*(const Tensor<T>& a, const Tensor<T>& b) { return mul(a, b); }
template <class T> Tensor<T> operator/(const Tensor<T>& a, const Tensor<T>& b) { return div(a, b); }
template <class T> Tensor<T> operator-(const Tensor<T>& a) { return neg(a); }
// A scalar of any arithmetic type (1, 0.5, 2.0f) converts to the tensor's T:
// x + 1, 1.0 - x, 0.5 * x and x / 2 mean the same for float and double tensors.
template <class S>
concept Scalar = std::is_arithmetic_v<S>;
template <class T, Scalar S> Tensor<T> operator+(const Tensor<T>& a, S s) { return add_scalar(a, static_cast<T>(s)); }
template <class T, Scalar S> Tensor<T> operator+(S s, const Tensor<T>& a) { return add_scalar(a, static_cast<T>(s)); }
template <class T, Scalar S> Tensor<T> operator-(const Tensor<T>& a, S s) {
  return add_scalar(a, -static_cast<T>(s));
}
template <class T, Scalar S> Tensor<T> operator-(S s, const Tensor<T>& a) {
  return add_scalar(neg(a), static_cast<T>(s));
}
template <class T, Scalar S> Tensor<T> operator*(const Tensor<T>& a, S s) { return mul_scalar(a, static_cast<T>(s)); }
template <class T, Scalar S> Tensor<T> operator*(S s, const Tensor<T>& a) { return mul_scalar(a, static_cast<T>(s)); }
template <class T, Scalar S> Tensor<T> operator/(const Tensor<T>& a, S s) {
  return mul_scalar(a, T(1) / static_cast<T>(s));
}
// s / a = s · a⁻¹, a constant 0-D numerator broadcast: d/da = -s / a²
template <class T, Scalar S> Tensor<T> operator/(S s, const Tensor<T>& a) {
  return div(Tensor<T>::scalar(static_cast<T>(s)), a);
}

// ---- elementwise functions (elementwise.cpp) --------------------------------
template <class T> Tensor<T> exp(const Tensor<T>& x);
template <class T> Tensor<T> log(const Tensor<T>& x);
template <class T> Tensor<T> tanh(const Tensor<T>& x);
template <class T> Tensor<T> sigmoid(const Tensor<T>& x);
template <class T> Tensor<T> relu(const Tensor<T>& x);
template <class T> Tensor<T> softplus(const Tensor<T>& x);  // log(1 + e^x), computed stably
template <class T> Tensor<T> pow(const Tensor<T>& x, T exponent);
template <class T> Tensor<T> sqrt(const Tensor<T>& x);
template <class T> Tensor<T> abs(const Tensor<T>& x);
template <class T> Tensor<T> clamp(const Tensor<T>& x, T low, T high);
// pow(x, 2), clamp(x, 0, 1): other arithmetic types convert to T.
template <class T, Scalar S>
  requires(!std::is_same_v<S, T>)
Tensor<T> pow(const Tensor<T>& x, S exponent) { return pow(x, static_cast<T>(exponent)); }
template <class T, Scalar L, Scalar H>
  requires(!std::is_same_v<L, T> || !std::is_same_v<H, T>)
Tensor<T> clamp(const Tensor<T>& x, L low, H high) { return clamp(x, static_cast<T>(low), static_cast<T>(high)); }
// y = mask ? a : b, elementwise with broadcasting; mask is a constant (nonzero = true).
template <class T> Tensor<T> where(const Tensor<T>& mask, const Tensor<T>& a, const Tensor<T>& b);

// ---- reductions (reduction.cpp) ---------------------------------------------
template <class T> Tensor<T> sum(const Tensor<T>& x);  // all elements, 0-D result
template <class T> Tensor<T> sum(const Tensor<T>& x, const std::vector<int>& axes, bool keepdim = false);
template <class T> Tensor<T> mean(const Tensor<T>& x);
template <class T> Tensor<T> mean(const Tensor<T>& x, const std::vector<int>& axes, bool keepdim = false);
// max: ties share the gradient equally (PyTorch's amax).
template <class T> Tensor<T> max(const Tensor<T>& x);
template <class T> Tensor<T> max(const Tensor<T>& x, int axis, bool keepdim = false);
template <class T> Tensor<T> softmax(const Tensor<T>& x, int axis);
template <class T> Tensor<T> log_softmax(const Tensor<T>& x, int axis);

// ---- shape and indexing (shape.cpp) -----------------------------------------
template <class T> Tensor<T> reshape(const Tensor<T>& x, const Shape& shape);
template <class T> Tensor<T> transpose(const Tensor<T>& x, int axis0 = -2, int axis1 = -1);
template <class T> Tensor<T> unsqueeze(const Tensor<T>& x, int axis);
template <class T> Tensor<T> squeeze(const Tensor<T>& x, int axis);
// x[..., start:end, ...] along `axis`
template <class T> Tensor<T> slice(const Tensor<T>& x, int axis, std::size_t start, std::size_t end);
// x[..., index, ...]: removes `axis`
template <class T> Tensor<T> select(const Tensor<T>& x, int axis, std::size_t index);
// rows of x along `axis` picked by `indices` (repeats allowed: gradients add up)
template <class T> Tensor<T> index_select(const Tensor<T>& x, int axis, const std::vector<std::size_t>& indices);
template <class T> Tensor<T> concat(const std::vector<Tensor<T>>& xs, int axis);
template <class T> Tensor<T> stack(const std::vector<Tensor<T>>& xs, int axis);
template <class T> std::vector<Tensor<T>> split(const Tensor<T>& x, const std::vector<std::size_t>& sizes, int axis);
// The inverse of slice, used by its backward: g placed at [start, start+g.size(axis)) of zeros(shape).
template <class T> Tensor<T> pad_slice(const Tensor<T>& g, int axis, std::size_t start, const Shape& shape);
// The inverse of index_select: rows of g added into zeros(shape) at `indices`.
template <class T> Tensor<T> index_add(const Tensor<T>& g, int axis, const std::vector<std::size_t>& indices, const Shape& shape);

// ---- matrix products (matmul.cpp) -------------------------------------------
// op(a) @ op(b), op = transpose when the flag is set; 2-D x 2-D, or batched
// 3-D x 3-D with equal batch, or 3-D x 2-D (the 2-D matrix shared by the batch).
// Transposes go to BLAS as flags: no copy is made.
template <class T> Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool transpose_a = false, bool transpose_b = false);
// x @ weightᵀ + bias (bias may be undefined): PyTorch's F.linear.
template <class T> Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias = Tensor<T>());
namespace detail {
// The gradients of y = x Wᵀ + b over `rows` rows of x from g = dL/dy (its
// values read as [rows, out]): sources {x, W, biases...} (each bias gets the
// same Σ_rows g), undefined where a source needs none; dL/dW = gᵀ x is left as
// a GradProduct for the engine to fold with W's other uses. linear's backward,
// and any op computing such a map over a buffer of its own (the fused RNN
// steps' input projection), use it.
template <class T>
Grads<T> linear_grads(std::size_t rows, const Tensor<T>& g, const std::vector<Tensor<T>>& sources);
}  // namespace detail

// ---- the ops a custom cell needs (issue 26) ---------------------------------
// elementwise.cpp
// y = 1/√x                      dy/dx = -g y³ / 2
template <class T> Tensor<T> rsqrt(const Tensor<T>& x);
template <class T> Tensor<T> sin(const Tensor<T>& x);
template <class T> Tensor<T> cos(const Tensor<T>& x);
// y = log σ(x) = min(x, 0) - log(1 + e^-|x|), computed stably     dy/dx = g ⊙ σ(-x)
template <class T> Tensor<T> log_sigmoid(const Tensor<T>& x);
// PyTorch's F.gelu: approximate "none" is x Φ(x) (Φ the standard normal CDF,
// through erf); "tanh" is x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2.
template <class T> Tensor<T> gelu(const Tensor<T>& x, const std::string& approximate = "none");

// reduction.cpp: over one axis as well as a list (`sum(x, 1)`; a braced list
// `{1}` still means the list, and `{}` no axes).
template <class T, std::same_as<int> A>
Tensor<T> sum(const Tensor<T>& x, A axis, bool keepdim = false) { return sum(x, std::vector<int>{axis}, keepdim); }
template <class T, std::same_as<int> A>
Tensor<T> mean(const Tensor<T>& x, A axis, bool keepdim = false) { return mean(x, std::vector<int>{axis}, keepdim); }
// min: ties share the gradient equally, as max's do (PyTorch's amin).
template <class T> Tensor<T> min(const Tensor<T>& x);
template <class T> Tensor<T> min(const Tensor<T>& x, int axis, bool keepdim = false);

// var and std (reduction.cpp), PyTorch's: Σ (x - x̄)² / max(N - correction, 0)
// over all elements or over axes; `unbiased` is correction 1 (true) or 0.
// std = √var (var's node, then sqrt's); write it rwd::std (as torch::std) where
// `using namespace rwd` would make a bare `std(` ambiguous.
struct Correction {
  double value = 1;
};
template <class T>
Tensor<T> var(const Tensor<T>& x, const std::vector<int>& axes, Correction correction = {}, bool keepdim = false);
template <class T>
Tensor<T> std(const Tensor<T>& x, const std::vector<int>& axes, Correction correction = {}, bool keepdim = false);
// The other forms, as torch.var's: all elements, one axis, `unbiased`. (The
// constrained templates keep a braced axis list `var(x, {1})` meaning the list.)
namespace detail {
template <class T> Tensor<T> var_all(const Tensor<T>& x, Correction correction);  // over every axis, 0-D
}
template <class T> Tensor<T> var(const Tensor<T>& x) { return detail::var_all(x, Correction{}); }
template <class T, std::same_as<Correction> C> Tensor<T> var(const Tensor<T>& x, C c) { return detail::var_all(x, c); }
template <class T, std::same_as<bool> B> Tensor<T> var(const Tensor<T>& x, B unbiased) {
  return detail::var_all(x, Correction{unbiased ? 1.0 : 0.0});
}
template <class T>
Tensor<T> var(const Tensor<T>& x, const std::vector<int>& axes, bool unbiased, bool keepdim = false) {
  return var(x, axes, Correction{unbiased ? 1.0 : 0.0}, keepdim);
}
template <class T, std::same_as<int> A>
Tensor<T> var(const Tensor<T>& x, A axis, Correction c = {}, bool keepdim = false) { return var(x, std::vector<int>{axis}, c, keepdim); }
template <class T, std::same_as<int> A>
Tensor<T> var(const Tensor<T>& x, A axis, bool unbiased, bool keepdim = false) {
  return var(x, std::vector<int>{axis}, unbiased, keepdim);
}
template <class T> Tensor<T> std(const Tensor<T>& x) { return sqrt(var(x)); }
template <class T, std::same_as<Correction> C> Tensor<T> std(const Tensor<T>& x, C c) { return sqrt(var(x, c)); }
template <class T, std::same_as<bool> B> Tensor<T> std(const Tensor<T>& x, B unbiased) { return sqrt(var(x, unbiased)); }
template <class T>
Tensor<T> std(const Tensor<T>& x, const std::vector<int>& axes, bool unbiased, bool keepdim = false) {
  return sqrt(var(x, axes, unbiased, keepdim));
}
template <class T, std::same_as<int> A>
Tensor<T> std(const Tensor<T>& x, A axis, Correction c = {}, bool keepdim = false) { return sqrt(var(x, axis, c, keepdim)); }
template <class T, std::same_as<int> A>
Tensor<T> std(const Tensor<T>& x, A axis, bool unbiased, bool keepdim = false) { return sqrt(var(x, axis, unbiased, keepdim)); }

// shape.cpp: torch.chunk: slices of ceil(n / chunks) along axis, the last
// smaller, so there may be fewer than `chunks` of them.
template <class T> std::vector<Tensor<T>> chunk(const Tensor<T>& x, std::size_t chunks, int axis = 0);

// normalization.cpp: PyTorch's F.layer_norm, one node: each slice over the
// trailing axes `normalized_shape` normalised to mean 0 and variance 1
// (biased, plus eps), then times weight and plus bias (each of shape
// normalized_shape; undefined for none).
template <class T>
Tensor<T> layer_norm(const Tensor<T>& x, const Shape& normalized_shape, const Tensor<T>& weight = Tensor<T>(),
                     const Tensor<T>& bias = Tensor<T>(), double eps = 1e-5);

// Normalise a possibly negative axis for a tensor of rank `rank`; throws naming `op`.
std::size_t normalize_axis(const char* op, int axis, std::size_t rank);

}  // namespace rwd
