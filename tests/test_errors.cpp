// Misuse throws rwd::Error with a message naming the op, the shapes and what
// was expected; never a crash or a silent wrong answer.
#include <doctest/doctest.h>

#include <cmath>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {
using doctest::Contains;
using In = std::vector<TensorD>;
}  // namespace

TEST_SUITE("errors") {
  TEST_CASE("shape errors name the op and both shapes") {
    auto a = zeros<double>({32, 128});
    auto b = zeros<double>({64, 128});
    CHECK_THROWS_WITH_AS(matmul(a, b), "matmul: inner dimensions differ: [32, 128] x [64, 128]", Error);
    CHECK_THROWS_WITH_AS(matmul(a, zeros<double>({128, 64}), false, true),
                         "matmul: inner dimensions differ: [32, 128] x [128, 64]^T", Error);
    CHECK_THROWS_WITH_AS(matmul(zeros<double>({2, 3, 4}), zeros<double>({3, 4, 5})),
                         "matmul: batch sizes differ: [2, 3, 4] x [3, 4, 5]", Error);
    CHECK_THROWS_WITH_AS(matmul(zeros<double>({4}), a), Contains("matmul: expected 2-D or 3-D operands, got [4] x"),
                         Error);
    CHECK_THROWS_WITH_AS(zeros<double>({2, 3}) + zeros<double>({4}),
                         "add: shapes [2, 3] and [4] cannot be broadcast together", Error);
    CHECK_THROWS_WITH_AS(zeros<double>({2, 3}) * zeros<double>({3, 2}),
                         "mul: shapes [2, 3] and [3, 2] cannot be broadcast together", Error);
    CHECK_THROWS_WITH_AS(reshape(zeros<double>({2, 3}), {4}), "reshape: cannot reshape [2, 3] (6 elements) to [4]",
                         Error);
    CHECK_THROWS_WITH_AS(expand(zeros<double>({2, 3}), {4, 3}), "expand: cannot broadcast shape [2, 3] to [4, 3]",
                         Error);
    CHECK_THROWS_WITH_AS(expand(zeros<double>({2, 3}), {1, 3}), "expand: cannot broadcast shape [2, 3] to [1, 3]",
                         Error);
    CHECK_THROWS_WITH_AS(sum_to(zeros<double>({2, 3}), {4}), "sum_to: cannot reduce shape [2, 3] to [4]", Error);
    CHECK_THROWS_WITH_AS(sum_to(zeros<double>({3}), {2, 3}), "sum_to: cannot reduce shape [3] to [2, 3]", Error);
    CHECK_THROWS_WITH_AS(concat(In{zeros<double>({2, 3}), zeros<double>({3, 4})}, 1),
                         "concat: shape [3, 4] does not match [2, 3] outside axis 1", Error);
    CHECK_THROWS_WITH_AS(concat(In{zeros<double>({2, 3}), zeros<double>({2, 3, 1})}, 0),
                         Contains("concat: shape [2, 3, 1] does not match [2, 3]"), Error);
    CHECK_THROWS_WITH_AS(stack(In{zeros<double>({2, 3}), zeros<double>({3, 2})}, 0),
                         "stack: shape [3, 2] differs from [2, 3]", Error);
    CHECK_THROWS_WITH_AS(split(zeros<double>({5, 2}), {2, 2}, 0),
                         "split: sizes add up to 4 but axis 0 of shape [5, 2] has 5", Error);
    CHECK_THROWS_WITH_AS(squeeze(zeros<double>({2, 3}), 1), "squeeze: axis 1 of shape [2, 3] is not of size 1", Error);
  }

  TEST_CASE("axes and indices out of range") {
    auto x = zeros<double>({2, 3});
    CHECK_THROWS_WITH_AS(sum(x, {2}), "sum: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(softmax(x, -3), "softmax: axis -3 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(max(x, 5), "max: axis 5 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(transpose(x, 0, 2), "transpose: axis 2 is out of range for a tensor of rank 2", Error);
    CHECK_THROWS_WITH_AS(unsqueeze(x, 3), "unsqueeze: axis 3 is out of range for a tensor of rank 3", Error);
    CHECK_THROWS_WITH_AS(x.size(-3), "size: axis -3 is out of range for shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(slice(x, 1, 1, 5), "slice: range [1, 5) is out of bounds for axis 1 of shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(slice(x, 0, 2, 1), "slice: range [2, 1) is out of bounds for axis 0 of shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(select(x, -1, 3), "select: index 3 is out of bounds for axis -1 of shape [2, 3]", Error);
    CHECK_THROWS_WITH_AS(index_select(x, 0, {0, 2}), "index_select: index 2 is out of bounds for axis 0 of shape [2, 3]",
                         Error);
    CHECK_THROWS_WITH_AS(index_add(zeros<double>({2, 3}), 0, {0}, {2, 3}),
                         "index_add: source has shape [2, 3], expected [1, 3]", Error);
  }

  TEST_CASE("values and arguments") {
    CHECK_THROWS_WITH_AS(zeros<double>({2, 3}).item(), "item: tensor of shape [2, 3] has 6 elements, expected 1", Error);
    CHECK(zeros<double>({1, 1}).item() == 0.0);
    CHECK_THROWS_WITH_AS(TensorD({{1.0, 2.0}, {3.0}}), "Tensor: ragged initializer list: row 1 has 1 elements, expected 2",
                         Error);
    CHECK_THROWS_WITH_AS(clamp(zeros<double>({2}), 1.0, -1.0), Contains("clamp: low (1.0"), Error);
    CHECK_THROWS_WITH_AS(where(ones<double>({2}, true), zeros<double>({2}), zeros<double>({2})),
                         "where: the mask must not require grad", Error);
    CHECK_THROWS_WITH_AS(TensorD().shape(), "shape: the tensor is undefined", Error);
  }

  TEST_CASE("autograd misuse") {
    auto w = TensorD({1.0, 2.0}).requires_grad_();
    auto constant = TensorD({1.0, 2.0});
    CHECK_THROWS_WITH_AS(sum(constant * constant).backward(), Contains("backward: the tensor does not require grad"),
                         Error);
    auto y = w * w;
    CHECK_THROWS_WITH_AS(y.requires_grad_(),
                         Contains("requires_grad_: only leaf tensors can change requires_grad (this one is the result "
                                  "of 'mul')"),
                         Error);
    CHECK_THROWS_WITH_AS(constant.retain_grad(), "retain_grad: the tensor does not require grad", Error);

    auto loss = sum(tanh(w * w));
    loss.backward();
    CHECK_THROWS_WITH_AS(loss.backward(),
                         "backward: trying to backward through the graph a second time (the record of op 'sum' was "
                         "freed after the first backward); pass retain_graph=true the first time",
                         Error);

    auto unused = TensorD({3.0}).requires_grad_();
    auto z = sum(w * w);
    CHECK_THROWS_WITH_AS(grad<double>({z}, {w, unused}, {}, /*retain_graph=*/true),
                         "grad: input 1 was not used to compute the outputs (pass allow_unused=true to get zeros)",
                         Error);
    auto grads = grad<double>({z}, {w, unused}, {}, false, false, /*allow_unused=*/true);
    CHECK(grads[0].value()(1) == 4.0);  // d(w1² + w2²)/dw2 = 2 w2
    CHECK(grads[1].value()(0) == 0.0);
    CHECK_THROWS_WITH_AS(grad<double>({sum(w)}, {constant}), "grad: every input must require grad", Error);
  }

  TEST_CASE("anomaly mode names the op whose forward made a NaN") {
    auto x = TensorD({-1.0, 2.0}).requires_grad_();
    {
      // Without the guard the NaN goes through silently, as in PyTorch.
      auto y = log(x);
      CHECK(std::isnan(y.value()(0)));
    }
    DetectAnomalyGuard anomaly;
    CHECK_THROWS_WITH_AS(log(x), "anomaly: op 'log' produced NaN or Inf in its output of shape [2]", Error);
    CHECK_THROWS_WITH_AS(sqrt(x * 1.0), Contains("anomaly: op 'sqrt' produced NaN"), Error);
  }

  TEST_CASE("anomaly mode names the backward that made an Inf, and a failed pass leaves no residue") {
    // z = [0, 1]: sqrt is finite at 0 but its derivative 1/(2√z) is not.
    // loss = Σ √z + Σ 3z, so dloss/dz = 1/(2√z) + 3 = [inf, 3.5].
    auto z = TensorD({0.0, 1.0}).requires_grad_();
    auto loss = sum(sqrt(z)) + sum(z * 3.0);
    {
      DetectAnomalyGuard anomaly;
      CHECK_THROWS_WITH_AS(
          loss.backward(/*retain_graph=*/true),
          "anomaly: backward of op 'sqrt' produced NaN or Inf in the gradient of input 0 (shape [2])", Error);
    }
    CHECK_FALSE(z.grad().defined());  // the pass stopped before reaching the leaf
    // The 3z branch had already delivered its gradient to z when the pass
    // stopped; a second pass must start from scratch, not from that residue.
    loss.backward();
    REQUIRE(z.grad().defined());
    CHECK(std::isinf(z.grad().value()(0)));
    CHECK(z.grad().value()(1) == doctest::Approx(3.5));
  }
}
