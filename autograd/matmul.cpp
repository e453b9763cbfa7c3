#include "blas.hpp"
#include "op_support.hpp"

namespace rwd {

using detail::if_needed;

namespace {

// op(x) as [rows, cols] of the last two axes, and the batch (0 for a 2-D matrix shared by all).
struct Operand {
  std::size_t batch, rows, cols, stored_cols;
};

Operand describe(const Shape& s, bool transposed) {
  const std::size_t r = s[s.size() - 2], c = s[s.size() - 1];
  return {s.size() == 3 ? s[0] : 0, transposed ? c : r, transposed ? r : c, c};
}

std::string operand_text(const Shape& s, bool transposed) { return format_shape(s) + (transposed ? "^T" : ""); }

}  // namespace

// C = op(A) op(B)
// dC/dA: g op(B)ᵀ (transposed back when A was),   dC/dB: op(A)ᵀ g (likewise),
// each summed to its input's shape when a 2-D operand was shared by a batch.
template <class T>
Tensor<T> matmul(const Tensor<T>& a, const Tensor<T>& b, bool ta, bool tb) {
  const Shape sa = a.shape(), sb = b.shape();
  if (sa.size() < 2 || sa.size() > 3 || sb.size() < 2 || sb.size() > 3)
    throw Error("matmul: expected 2-D or 3-D operands, got " + format_shape(sa) + " x " + format_shape(sb));
  const Operand A = describe(sa, ta), B = describe(sb, tb);
  if (A.cols != B.rows)
    throw Error("matmul: inner dimensions differ: " + operand_text(sa, ta) + " x " + operand_text(sb, tb));
  if (A.batch && B.batch && A.batch != B.batch)
    throw Error("matmul: batch sizes differ: " + format_shape(sa) + " x " + format_shape(sb));
  const std::size_t batch = std::max(A.batch, B.batch);
  const std::size_t m = A.rows, n = B.cols, k = A.cols;

  xt::xarray<T> value = batch ? xt::xarray<T>::from_shape({batch, m, n}) : xt::xarray<T>::from_shape({m, n});
  if (batch && A.batch && !B.batch && !ta) {
    // A batch of row blocks times one shared matrix is one tall GEMM.
    blas::gemm(false, tb, batch * m, n, k, T(1), a.data(), A.stored_cols, b.data(), B.stored_cols, T(0),
               value.data(), n);
  } else {
    for (std::size_t i = 0; i < std::max<std::size_t>(batch, 1); ++i)
      blas::gemm(ta, tb, m, n, k, T(1), a.data() + (A.batch ? i * m * k : 0), A.stored_cols,
                 b.data() + (B.batch ? i * k * n : 0), B.stored_cols, T(0), value.data() + i * m * n, n);
  }
  return record<T>("matmul", std::move(value), {a, b}, [ta, tb](const auto& in, const auto&, const Tensor<T>& g) {
    return Grads<T>{
        if_needed(in, 0, [&] { return sum_to(ta ? matmul(in[1], g, tb, true) : matmul(g, in[1], false, !tb), in[0].shape()); }),
        if_needed(in, 1, [&] { return sum_to(tb ? matmul(g, in[0], true, ta) : matmul(in[0], g, !ta, false), in[1].shape()); })};
  });
}

// y = x Wᵀ + b
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
  Tensor<T> y = matmul(x, weight, false, true);
  return bias.defined() ? y + bias : y;
}

#define INSTANTIATE(T)                                                                   \
  template Tensor<T> matmul<T>(const Tensor<T>&, const Tensor<T>&, bool, bool);          \
  template Tensor<T> linear<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
REWIND_FOR_EACH_SCALAR(INSTANTIATE)

}  // namespace rwd
