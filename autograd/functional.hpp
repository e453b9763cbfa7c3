// Products with second-order and forward-mode derivatives, built on the tape
// (torch.autograd.functional's hvp and jvp): no Hessian or Jacobian is ever
// formed, each product costs a few backward passes.
//
//   // H v for the loss of an LSTM w.r.t. its weights (examples/hessian_vector_lstm.cpp)
//   auto [loss, hv] = hvp<double>([&](const auto& w) { return loss_of(w); }, weights, directions);
//
// f is called once on copies of `inputs` (leaves that require grad, so f sees
// them as the variables), and must return a tensor that depends on them
// differentiably: through any op and every recurrent layer, fused or not.
#pragma once

#include <functional>
#include <type_traits>
#include <vector>

#include "tensor.hpp"

namespace rwd {

template <class T>
struct HvpResult {
  Tensor<T> value;                // f(inputs), a one-element tensor
  std::vector<Tensor<T>> hvp;     // (∂²f/∂inputs²) v, one per input (zeros where f is linear in it)
};

template <class T>
struct JvpResult {
  Tensor<T> value;  // f(inputs)
  Tensor<T> jvp;    // (∂f/∂inputs) · tangents, f's shape
};

// Hessian-vector product of a scalar f: Σ_j ∂²f/∂x_i∂x_j v_j for each input i,
// as the gradient of ⟨∇f, v⟩ (two backward passes, the first recorded).
template <class T>
HvpResult<T> hvp(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v);

// Jacobian-vector product Σ_i ∂f/∂x_i t_i (forward mode), by the double-vjp
// trick: u ↦ Jᵀu is linear in u, so J t is the gradient of ⟨Jᵀu, t⟩ w.r.t. u.
template <class T>
JvpResult<T> jvp(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& tangents);

}  // namespace rwd
