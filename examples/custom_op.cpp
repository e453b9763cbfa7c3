// Writing your own op: softsign(x) = x / (1 + |x|), recorded with rwd::record
// and gradient-checked (first and second derivatives). Exits non-zero if a
// check fails, so CI runs it as a test.
#include <iostream>
#include <vector>

#include <xtensor/xmath.hpp>

#include <rewind/rewind.hpp>

// y = x / (1 + |x|)             dy/dx = g / (1 + |x|)²
template <class T>
rwd::Tensor<T> softsign(const rwd::Tensor<T>& x) {
  // Forward: any xtensor code computing the value.
  const auto& v = x.value();
  xt::xarray<T> y = v / (T(1) + xt::abs(v));
  // Record it: the result, its inputs, and how to turn the output's gradient g
  // into one gradient per input. The backward uses Tensor ops, so under
  // create_graph it is itself recorded and can be differentiated again.
  return rwd::record<T>("softsign", std::move(y), {x},
                        [](const std::vector<rwd::Tensor<T>>& in, const rwd::Tensor<T>& /*y*/,
                           const rwd::Tensor<T>& g) {
                          const rwd::Tensor<T> d = T(1) + rwd::abs(in[0]);
                          return rwd::Grads<T>{g / (d * d)};
                        });
}

int main() {
  rwd::Generator gen(0);
  rwd::TensorD x = rwd::randn<double>({3, 4}, gen, /*requires_grad=*/true);

  // Use it like any op.
  rwd::sum(softsign(x)).backward();

  // Check it: the tape's gradients against central finite differences.
  auto f = [](const std::vector<rwd::TensorD>& in) { return softsign(in[0]); };
  const rwd::GradcheckReport first = rwd::gradcheck(f, {x});
  const rwd::GradcheckReport second = rwd::gradgradcheck(f, {x});
  std::cout << first << second;
  return first.passed() && second.passed() ? 0 : 1;
}
