// Every op of autograd/ops.hpp, gradient-checked in double against central
// finite differences (full Jacobian), and second derivatives through
// gradgradcheck: the tables of autograd/op_catalog.hpp (which `rewind
// gradcheck` checks too), inputs from fixed Generator seeds. Then forward values.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include <rewind/autograd/gradcheck_doctest.hpp>
#include <rewind/autograd/op_catalog.hpp>
#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

using In = std::vector<TensorD>;

// One group of autograd/op_catalog.hpp, gradient-checked first and second order.
void run(const std::string& group_name) {
  for (const OpGroup& group : op_catalog()) {
    if (group.name != group_name) continue;
    std::uint64_t seed = group.seed;
    for (const auto& c : group.cases) {
      INFO("case: ", c.name);
      Generator gen(seed++);
      In inputs;
      for (const auto& spec : c.inputs) inputs.push_back(draw(spec, gen));
      GradcheckOptions options;
      options.name = c.name;
      CHECK_GRAD(c.f, inputs, options);
      // Every checked input's first derivative is somewhere non-zero: a case
      // whose f ignored an input (a captured tensor) would prove nothing.
      for (const auto& input : gradcheck(c.f, inputs, options).inputs) CHECK_FALSE(input.all_zero);
      if (c.second_order) CHECK_GRADGRAD(c.f, inputs, options);
    }
    return;
  }
  FAIL("no op group " << group_name);
}

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("arithmetic, with NumPy broadcasting") { run("arithmetic"); }
  TEST_CASE("elementwise functions") { run("elementwise"); }
  TEST_CASE("reductions, every axis form") { run("reductions"); }
  TEST_CASE("shape and indexing ops, every axis form") { run("shape"); }
  TEST_CASE("matmul: every transpose flag, 2-D, batched, shared weight") { run("matmul"); }
  TEST_CASE("normalization: layer_norm with and without weight and bias") { run("normalization"); }

  TEST_CASE("float gradchecks pass with the float tolerances (opted in)") {
    Generator gen(7);
    auto x = randn<float>({3, 4}, gen, true);
    auto w = randn<float>({2, 4}, gen, true);
    GradcheckOptions in_float;
    in_float.allow_float = true;
    CHECK_GRAD([](const std::vector<TensorF>& in) { return tanh(matmul(in[0], in[1], false, true)); }, {x, w},
               in_float);
    CHECK_GRAD([](const std::vector<TensorF>& in) { return log_softmax(in[0], -1); }, {x}, in_float);
  }

  // ---- forward values, each computed here independently -------------------

  TEST_CASE("matmul forward matches a naive triple loop, every flag, batched and shared") {
    // C[b,i,j] = Σ_k op(A)[b,i,k] op(B)[b,k,j], with op(A)[i,k] read as A[k,i] when transposed.
    Generator gen(11);
    const std::size_t batch = 3, m = 2, k = 5, n = 4;
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (bool shared : {false, true}) {
          auto a = randn<double>(ta ? Shape{batch, k, m} : Shape{batch, m, k}, gen);
          auto b = randn<double>(shared ? (tb ? Shape{n, k} : Shape{k, n}) : (tb ? Shape{batch, n, k} : Shape{batch, k, n}),
                                 gen);
          auto c = matmul(a, b, ta, tb);
          REQUIRE(c.shape() == Shape{batch, m, n});
          const auto& A = a.value();
          const auto& B = b.value();
          for (std::size_t p = 0; p < batch; ++p)
            for (std::size_t i = 0; i < m; ++i)
              for (std::size_t j = 0; j < n; ++j) {
                double expected = 0;
                for (std::size_t q = 0; q < k; ++q) {
                  const double av = ta ? A(p, q, i) : A(p, i, q);
                  const double bv = shared ? (tb ? B(j, q) : B(q, j)) : (tb ? B(p, j, q) : B(p, q, j));
                  expected += av * bv;
                }
                CHECK(c.value()(p, i, j) == doctest::Approx(expected).epsilon(1e-12));
              }
        }
  }

  TEST_CASE("softmax, log_softmax, softplus, sigmoid forward values") {
    // softmax([1, 2, 3]) = e^i / (e + e² + e³), by std::exp; rows of a [2,3] along axis 0 likewise.
    TensorD x({1.0, 2.0, 3.0});
    const double total = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    auto y = softmax(x, 0);
    auto ly = log_softmax(x, -1);
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(y.value()(i) == doctest::Approx(std::exp(i + 1.0) / total));
      CHECK(ly.value()(i) == doctest::Approx(i + 1.0 - std::log(total)));
    }
    // Along axis 0 of [[0, 10], [ln 3, 10]]: column 0 -> [1/4, 3/4], column 1 -> [1/2, 1/2].
    TensorD m({{0.0, 10.0}, {std::log(3.0), 10.0}});
    auto ym = softmax(m, 0);
    CHECK(ym.value()(0, 0) == doctest::Approx(0.25));
    CHECK(ym.value()(1, 0) == doctest::Approx(0.75));
    CHECK(ym.value()(1, 1) == doctest::Approx(0.5));
    // Large logits stay finite: softmax([1000, 1000]) = [1/2, 1/2].
    CHECK(softmax(TensorD({1000.0, 1000.0}), 0).value()(0) == doctest::Approx(0.5));
    // softplus(x) = ln(1 + e^x): 100 -> 100 (no overflow), -100 -> e^-100 (log1p keeps it), 0 -> ln 2.
    auto sp = softplus(TensorD({100.0, -100.0, 0.0}));
    CHECK(sp.value()(0) == doctest::Approx(100.0));
    CHECK(sp.value()(1) == doctest::Approx(std::exp(-100.0)).epsilon(1e-12));
    CHECK(sp.value()(2) == doctest::Approx(std::log(2.0)));
    CHECK(sigmoid(TensorD({0.0, std::log(3.0)})).value()(1) == doctest::Approx(0.75));  // 1/(1 + 1/3)
  }

  TEST_CASE("broadcasting, shape ops and indexing forward values") {
    // [3,1] + [1,4] -> [3,4] with out[i,j] = a[i] + b[j].
    TensorD a = reshape(TensorD({1.0, 2.0, 3.0}), {3, 1});  // a column
    TensorD b({{10.0, 20.0, 30.0, 40.0}});
    auto c = a + b;
    REQUIRE(c.shape() == Shape{3, 4});
    CHECK(c.value()(2, 1) == 23.0);
    // stack along -1 is the last axis (PyTorch): stack([x, y], -1)[i, j] = [x[i,j], y[i,j]].
    TensorD x({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    auto st = stack(In{x, x * 10.0}, -1);
    REQUIRE(st.shape() == Shape{2, 3, 2});
    CHECK(st.value()(1, 2, 0) == 6.0);
    CHECK(st.value()(1, 2, 1) == 60.0);
    CHECK(unsqueeze(x, -1).shape() == Shape{2, 3, 1});
    CHECK(unsqueeze(x, -3).shape() == Shape{1, 2, 3});
    // concat along axis 1: [[1,2,3,1],[4,5,6,4]] (x then its first column).
    auto cat = concat(In{x, slice(x, 1, 0, 1)}, 1);
    REQUIRE(cat.shape() == Shape{2, 4});
    CHECK(cat.value()(1, 3) == 4.0);
    CHECK(cat.value()(1, 1) == 5.0);
    // index_select picks rows, index_add sums repeated ones: rows {2, 0, 2} of x^T.
    auto picked = index_select(transpose(x), 0, {2, 0, 2});
    CHECK(picked.value()(0, 1) == 6.0);
    CHECK(picked.value()(1, 0) == 1.0);
    auto added = index_add(reshape(TensorD({1.0, 2.0, 4.0}), {3, 1}), 0, {1, 0, 1}, {2, 1});
    CHECK(added.value()(0, 0) == 2.0);
    CHECK(added.value()(1, 0) == 5.0);
    // pad_slice puts [7, 8] at columns 1..2 of a [1, 4] row of zeros.
    auto padded = pad_slice(TensorD({{7.0, 8.0}}), 1, 1, {1, 4});
    CHECK(padded.value()(0, 0) == 0.0);
    CHECK(padded.value()(0, 2) == 8.0);
    CHECK(padded.value()(0, 3) == 0.0);
    // where picks a where the mask is non-zero, broadcasting a 0-D b.
    auto w = where(TensorD({1.0, 0.0, -2.0}), TensorD({1.0, 2.0, 3.0}), TensorD::scalar(9.0));
    CHECK(w.value()(0) == 1.0);
    CHECK(w.value()(1) == 9.0);
    CHECK(w.value()(2) == 3.0);
  }

  TEST_CASE("max: ties share the gradient equally (PyTorch amax)") {
    // max([1, 3, 3]) = 3, reached twice: each tie gets half of the gradient.
    auto x = TensorD({1.0, 3.0, 3.0}).requires_grad_();
    max(x).backward();
    CHECK(x.grad().value()(0) == 0.0);
    CHECK(x.grad().value()(1) == 0.5);
    CHECK(x.grad().value()(2) == 0.5);
    // Along axis 1 of [[2, 2, 1], [0, 5, 4]]: row 0 ties (1/2, 1/2, 0), row 1 -> (0, 1, 0).
    auto m = TensorD({{2.0, 2.0, 1.0}, {0.0, 5.0, 4.0}}).requires_grad_();
    sum(max(m, 1)).backward();
    CHECK(m.grad().value()(0, 0) == 0.5);
    CHECK(m.grad().value()(0, 2) == 0.0);
    CHECK(m.grad().value()(1, 1) == 1.0);
  }
}
