#include "blas.hpp"
#include "grad_mode.hpp"
#include "op_support.hpp"
#include "instantiate.hpp"

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

  xt::xarray<T> value = batch ? new_array<T>({batch, m, n}) : new_array<T>({m, n});
  if (batch && A.batch && !B.batch && !ta) {
    // A batch of row blocks times one shared matrix is one tall GEMM.
    blas::gemm(false, tb, batch * m, n, k, T(1), a.data(), A.stored_cols, b.data(), B.stored_cols, T(0),
               value.data(), n);
  } else {
    for (std::size_t i = 0; i < std::max<std::size_t>(batch, 1); ++i)
      blas::gemm(ta, tb, m, n, k, T(1), a.data() + (A.batch ? i * m * k : 0), A.stored_cols,
                 b.data() + (B.batch ? i * k * n : 0), B.stored_cols, T(0), value.data() + i * m * n, n);
  }
  // Recorded ops: batched operands, and under create_graph.
  auto as_ops = [ta, tb](const auto& in, const auto&, const Tensor<T>& g) {
    return Grads<T>{
        if_needed(in, 0, [&] { return sum_to(ta ? matmul(in[1], g, tb, true) : matmul(g, in[1], false, !tb), in[0].shape()); }),
        if_needed(in, 1, [&] { return sum_to(tb ? matmul(g, in[0], true, ta) : matmul(in[0], g, !ta, false), in[1].shape()); })};
  };
  // Products for the engine to fold (a weight used at every step: one GEMM).
  auto products = [ta, tb, as_ops](const auto& in, const auto& out, const Tensor<T>& g) {
    if (in[0].dim() != 2 || in[1].dim() != 2) return as_ops(in, out, g);
    const std::size_t m = g.size(0), n = g.size(1);
    Grads<T> grads(2);
    if (in[0].requires_grad())
      grads.add_product(ta ? GradProduct<T>{0, in[1], g, tb, true, in[0].size(0), in[0].size(1), n}
                           : GradProduct<T>{0, g, in[1], false, !tb, in[0].size(0), in[0].size(1), n});
    if (in[1].requires_grad())
      grads.add_product(tb ? GradProduct<T>{1, g, in[0], true, ta, in[1].size(0), in[1].size(1), m}
                           : GradProduct<T>{1, in[0], g, !ta, false, in[1].size(0), in[1].size(1), m});
    return grads;
  };
  return record<T>("matmul", std::move(value), {a, b}, products, as_ops);
}

// y = x Wᵀ + b, x [..., I] (any leading axes: all rows in one GEMM), W [O, I], b [O]
// dL/dx = g W,   dL/dW = Σ_rows gᵀ x,   dL/db = Σ_rows g
// One op rather than matmul + add: the bias is the GEMM's starting value
// (beta = 1) and the backward makes each gradient with one GEMM over all rows,
// whatever the leading axes (a time-major [T, B, I] input needs no reshape).
// Under create_graph the backward is recorded through matmul and sum_to.
template <class T>
Tensor<T> linear(const Tensor<T>& x, const Tensor<T>& weight, const Tensor<T>& bias) {
  if (x.dim() < 1 || weight.dim() != 2 || x.size(-1) != weight.size(1))
    throw Error("linear: input " + format_shape(x.shape()) + " does not match weight " + format_shape(weight.shape()) +
                " (expected input [..., " + (weight.dim() == 2 ? std::to_string(weight.size(1)) : "in") +
                "] and weight [out, in])");
  const std::size_t in = weight.size(1), out = weight.size(0), rows = x.numel() / std::max<std::size_t>(in, 1);
  if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out))
    throw Error("linear: bias has shape " + format_shape(bias.shape()) + ", expected [" + std::to_string(out) + "]");
  Shape shape = x.shape();
  shape.back() = out;
  xt::xarray<T> value = new_array<T>(shape);
  blas::linear_rows(rows, in, out, x.data(), weight.data(), bias.defined() ? bias.data() : nullptr, value.data());
  std::vector<Tensor<T>> inputs = new_input_list<T>(3);
  inputs.push_back(x);
  inputs.push_back(weight);
  if (bias.defined()) inputs.push_back(bias);
  // The closure captures nothing: the sizes come from the inputs.
  return record<T>(
      "linear", std::move(value), std::move(inputs),
      [](const auto& args, const auto&, const Tensor<T>& g) {
        const std::size_t in = args[1].size(1), rows = args[0].numel() / std::max<std::size_t>(in, 1);
        return detail::linear_grads(rows, g, args);
      },
      [](const auto& args, const auto&, const Tensor<T>& g) {  // recorded ops
        const Tensor<T>&x = args[0], &w = args[1];
        const std::size_t in = w.size(1), out = w.size(0), rows = x.numel() / std::max<std::size_t>(in, 1);
        const Tensor<T> g2 = reshape(g, {rows, out}), x2 = reshape(x, {rows, in});
        Grads<T> grads(args.size());
        if (x.requires_grad()) grads[0] = reshape(matmul(g2, w), x.shape());
        if (w.requires_grad()) grads[1] = matmul(g2, x2, true, false);
        if (args.size() > 2 && args[2].requires_grad()) grads[2] = sum(g2, {0});
        return grads;
      });
}

template <class T>
Grads<T> detail::linear_grads(std::size_t rows, const Tensor<T>& g, const std::vector<Tensor<T>>& sources) {
  const Tensor<T>&x = sources[0], &w = sources[1];
  const std::size_t out = w.size(0), in = w.size(1);
  bool bias_wanted = false;
  for (std::size_t k = 2; k < sources.size(); ++k) bias_wanted = bias_wanted || sources[k].requires_grad();
  // (Arrays of no elements where a gradient is not wanted: no allocation.)
  xt::xarray<T> dx = new_array<T>(x.requires_grad() ? x.shape() : Shape{0});
  xt::xarray<T> db = new_array<T>(bias_wanted ? Shape{out} : Shape{0});
  blas::linear_rows_backward(rows, in, out, g.data(), w.data(), x.requires_grad() ? dx.data() : nullptr,
                             bias_wanted ? db.data() : nullptr);
  Grads<T> grads(sources.size());
  if (x.requires_grad()) grads[0] = Tensor<T>(std::move(dx));
  if (w.requires_grad()) grads.add_product({1, g, x, /*transpose_a=*/true, /*transpose_b=*/false, out, in, rows});
  const Tensor<T> bias_grad = bias_wanted ? Tensor<T>(std::move(db)) : Tensor<T>();
  for (std::size_t k = 2; k < sources.size(); ++k)
    if (sources[k].requires_grad()) grads[k] = bias_grad;
  return grads;
}

#define REWIND_INSTANTIATE(T)                                                                   \
  template Grads<T> detail::linear_grads<T>(std::size_t, const Tensor<T>&, const std::vector<Tensor<T>>&); \
  template Tensor<T> matmul<T>(const Tensor<T>&, const Tensor<T>&, bool, bool);          \
  template Tensor<T> linear<T>(const Tensor<T>&, const Tensor<T>&, const Tensor<T>&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
