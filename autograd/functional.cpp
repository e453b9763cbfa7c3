#include "functional.hpp"

#include <string>

#include "engine.hpp"
#include "ops.hpp"
#include "instantiate.hpp"

namespace rwd {

namespace {

// Fresh leaves with the inputs' values: the variables f is differentiated in.
template <class T>
std::vector<Tensor<T>> variables(const char* name, const std::vector<Tensor<T>>& inputs,
                                 const std::vector<Tensor<T>>& directions) {
  if (directions.size() != inputs.size())
    throw Error(std::string(name) + ": got " + std::to_string(directions.size()) + " direction tensors for " +
                std::to_string(inputs.size()) + " inputs");
  std::vector<Tensor<T>> leaves;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !directions[i].defined())
      throw Error(std::string(name) + ": input " + std::to_string(i) + " or its direction is undefined");
    if (directions[i].shape() != inputs[i].shape())
      throw Error(std::string(name) + ": input " + std::to_string(i) + " has shape " +
                  format_shape(inputs[i].shape()) + " whereas its direction has shape " +
                  format_shape(directions[i].shape()));
    leaves.push_back(Tensor<T>(inputs[i].value(), true));
  }
  return leaves;
}

// ⟨a, b⟩ summed over the pairs where a is defined: a scalar, recorded.
template <class T>
Tensor<T> inner(const std::vector<Tensor<T>>& a, const std::vector<Tensor<T>>& b) {
  Tensor<T> total;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].defined()) continue;
    const Tensor<T> term = sum(a[i] * b[i]);
    total = total.defined() ? total + term : term;
  }
  return total;
}

// The gradient of `scalar` w.r.t. `wrt`, zeros where it does not depend on them.
template <class T>
std::vector<Tensor<T>> gradient_or_zeros(const Tensor<T>& scalar, const std::vector<Tensor<T>>& wrt) {
  if (scalar.defined() && scalar.requires_grad())
    return grad<T>({scalar}, wrt, {}, /*retain_graph=*/false, /*create_graph=*/false, /*allow_unused=*/true);
  std::vector<Tensor<T>> zero;
  for (const auto& x : wrt) zero.push_back(zeros<T>(x.shape()));
  return zero;
}

}  // namespace

template <class T>
HvpResult<T> hvp(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& v) {
  const std::vector<Tensor<T>> x = variables("hvp", inputs, v);
  const Tensor<T> value = f(x);
  if (!value.defined() || value.numel() != 1)
    throw Error("hvp: f must return a one-element tensor, got shape " +
                format_shape(value));
  std::vector<Tensor<T>> first(x.size());
  if (value.requires_grad())
    first = grad<T>({value}, x, {}, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
  return {value.detach(), gradient_or_zeros(inner(first, v), x)};
}

template <class T>
JvpResult<T> jvp(const std::type_identity_t<Function<T>>& f, const std::vector<Tensor<T>>& inputs, const std::vector<Tensor<T>>& tangents) {
  const std::vector<Tensor<T>> x = variables("jvp", inputs, tangents);
  const Tensor<T> value = f(x);
  if (!value.defined()) throw Error("jvp: f returned an undefined tensor");
  if (!value.requires_grad()) return {value, zeros<T>(value.shape())};
  const Tensor<T> u = zeros<T>(value.shape(), /*requires_grad=*/true);  // a cotangent variable
  const std::vector<Tensor<T>> vjp =
      grad<T>({value}, x, {u}, /*retain_graph=*/true, /*create_graph=*/true, /*allow_unused=*/true);
  return {value.detach(), gradient_or_zeros(inner(vjp, tangents), {u})[0]};
}

#define REWIND_INSTANTIATE(T)                                                                                 \
  template HvpResult<T> hvp<T>(const std::type_identity_t<Function<T>>&, const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&); \
  template JvpResult<T> jvp<T>(const std::type_identity_t<Function<T>>&, const std::vector<Tensor<T>>&, const std::vector<Tensor<T>>&);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd
