// Values apart from functions (#24): multi-output functions consumed in part,
// a backward from one output of a fused unroll, the checks a function's
// backward gets (gradient count, inputs written in place since recording).
#include <doctest/doctest.h>

#include <rewind/autograd/node.hpp>  // the tests look at functions and values
#include <rewind/rewind.hpp>

#include "test_support.hpp"

using namespace rwd;
using doctest::Contains;

namespace {
// (a, b) -> (a + b, a · b, a - b): one function, three outputs; its backward
// counts its calls and which outputs got a gradient.
struct ThreeOutputs {
  int calls = 0;
  std::vector<bool> reached;
  std::vector<TensorD> operator()(const TensorD& a, const TensorD& b) {
    std::vector<xt::xarray<double>> values{a.value() + b.value(), a.value() * b.value(), a.value() - b.value()};
    return record_multi<double>("three_outputs", std::move(values), {a, b},
                                [this](const std::vector<TensorD>& in, const std::vector<TensorD>& g) {
                                  ++calls;
                                  reached.clear();
                                  for (const auto& gk : g) reached.push_back(gk.defined());
                                  TensorD ga = zeros<double>(in[0].shape()), gb = zeros<double>(in[1].shape());
                                  if (g[0].defined()) ga = ga + g[0], gb = gb + g[0];
                                  if (g[1].defined()) ga = ga + g[1] * in[1], gb = gb + g[1] * in[0];
                                  if (g[2].defined()) ga = ga + g[2], gb = gb - g[2];
                                  return Grads<double>{ga, gb};
                                });
  }
};
}  // namespace

TEST_SUITE("functions") {
  TEST_CASE("a multi-output function: outputs used by different consumers, only some of them") {
    const TensorD a({1.0, 2.0}), b({3.0, -1.0});
    TensorD ar = a.detach().requires_grad_(), br = b.detach().requires_grad_();
    ThreeOutputs op;
    const auto out = op(ar, br);
    CHECK(out[0].op_name() == std::string("three_outputs"));
    CHECK(detail::function_of(out[0]) == detail::function_of(out[2]));  // one function, not one per output
    CHECK(detail::impl_of(out[2]).output_nr == 2);
    // L = Σ 2·(a + b) + Σ (a - b)²: outputs 0 and 2, through two consumers; output 1 unused.
    const TensorD loss = sum(out[0] * 2.0) + sum(out[2] * out[2]);
    loss.backward();
    CHECK(op.calls == 1);  // once per pass, with every reached output's total
    CHECK(op.reached == std::vector<bool>{true, false, true});
    // dL/da = 2 + 2(a - b), dL/db = 2 - 2(a - b)
    CHECK(ar.grad().value() == xt::xarray<double>{2 + 2 * (1 - 3.0), 2 + 2 * (2 + 1.0)});
    CHECK(br.grad().value() == xt::xarray<double>{2 - 2 * (1 - 3.0), 2 - 2 * (2 + 1.0)});
    CHECK(detail::live_functions() >= 0);
  }

  TEST_CASE("values made without grad carry no function; freeing the outputs frees the function") {
    const std::int64_t before = detail::live_functions();
    {
      const TensorD x({1.0, 2.0});
      const TensorD y = x * x + 1.0;  // nothing requires grad
      CHECK(detail::function_of(y) == nullptr);
      CHECK(detail::live_functions() == before);
      TensorD w = x.detach().requires_grad_();
      ThreeOutputs op;
      auto out = op(w, w);
      CHECK(detail::live_functions() == before + 1);
      out.erase(out.begin(), out.begin() + 2);  // one output left holds the function
      CHECK(detail::live_functions() == before + 1);
      sum(out[0]).backward();
      CHECK(w.grad().value() == xt::xarray<double>{0.0, 0.0});  // d(w - w)/dw
      CHECK(w.grad().is_leaf());
      CHECK(detail::function_of(w.grad()) == nullptr);  // a gradient is a value only
    }
    CHECK(detail::live_functions() == before);
  }

  TEST_CASE("a backward from one output of a fused unroll: h_T alone, then the output alone") {
    for (const std::string kind : {"RNN", "LSTM", "GRU"}) {
      CAPTURE(kind);
      Generator gen(5);
      const TensorD x = randn<double>({6, 2, 3}, gen, true);
      auto run = [&](bool fused, bool from_final) {
        Generator init(9);
        const nn::RecurrentOptions options{.input_size = 3, .hidden_size = 4, .fused = fused};
        std::unique_ptr<nn::Recurrent<double>> layer;
        if (kind == "RNN") layer = std::make_unique<nn::RNN<double>>(options, init);
        if (kind == "LSTM") layer = std::make_unique<nn::LSTM<double>>(options, init);
        if (kind == "GRU") layer = std::make_unique<nn::GRU<double>>(options, init);
        const auto out = layer->forward(x);
        Generator weights(3);
        if (from_final)
          sum(out.final_state[0] * randn<double>(out.final_state[0].shape(), weights)).backward();
        else
          sum(out.output * randn<double>(out.output.shape(), weights)).backward();
        std::vector<TensorD> grads{x.grad()};
        for (const auto& p : layer->parameters()) grads.push_back(p.grad());
        TensorD(x).zero_grad();
        return grads;
      };
      for (bool from_final : {true, false}) {
        CAPTURE(from_final);
        const auto fused = run(true, from_final), generic = run(false, from_final);
        REQUIRE(fused.size() == generic.size());
        for (std::size_t k = 0; k < fused.size(); ++k) {
          REQUIRE(fused[k].defined());
          CHECK(xt::allclose(fused[k].value(), generic[k].value(), 1e-12, 1e-14));
        }
      }
    }
  }

  TEST_CASE("a fused unroll is one function on the tape, whatever T") {
    Generator gen(2);
    nn::LSTM<double> lstm({.input_size = 2, .hidden_size = 3}, gen);
    auto functions_for = [&](std::size_t steps) {
      const TensorD x = randn<double>({steps, 2, 2}, gen, true);
      const std::int64_t before = detail::live_functions();
      const auto out = lstm.forward(x);
      return detail::live_functions() - before;
    };
    const std::int64_t short_run = functions_for(3), long_run = functions_for(300);
    CHECK(short_run == long_run);
    CHECK(long_run <= 8);  // the unroll, and the layer's reshapes and concats of its results
  }

  TEST_CASE("a backward returning the wrong number of gradients is an error naming the op and both counts") {
    const TensorD a = TensorD({1.0, 2.0}).requires_grad_(), b = TensorD({3.0, 4.0}).requires_grad_();
    const TensorD short_list = record<double>("short_backward", xt::xarray<double>(a.value() + b.value()), {a, b},
                                             [](const auto&, const auto&, const TensorD& g) { return Grads<double>{g}; });
    CHECK_THROWS_WITH_AS(sum(short_list).backward(),
                         "backward of 'short_backward' returned an incorrect number of gradients (expected 2, got 1)",
                         Error);
    const TensorD long_list = record<double>("long_backward", xt::xarray<double>(a.value()), {a},
                                            [](const auto&, const auto&, const TensorD& g) { return Grads<double>{g, g}; });
    CHECK_THROWS_WITH_AS(sum(long_list).backward(),
                         "backward of 'long_backward' returned an incorrect number of gradients (expected 1, got 2)",
                         Error);
    CHECK_FALSE(a.grad().defined());  // the failed passes left nothing behind
  }

  TEST_CASE("a saved weight changed in place before backward: the error names the op") {
    Generator gen(4);
    TensorD w = randn<double>({3, 3}, gen, true);
    const TensorD x = randn<double>({2, 3}, gen);
    const TensorD loss = sum(tanh(matmul(x, w)));
    w.mutable_value()(0, 0) += 1.0;  // an optimizer step too early
    CHECK_THROWS_WITH_AS(loss.backward(), Contains("backward of 'matmul': one of its inputs was modified in place"),
                         Error);
    // After the change, a new forward is fine, and so is one that reads no changed value.
    sum(tanh(matmul(x, w))).backward();
    CHECK(w.grad().defined());
    SUBCASE("an optimizer step between two passes over a retained graph") {
      TensorD v = randn<double>({3}, gen, true);
      const TensorD y = sum(v * v);
      y.backward(/*retain_graph=*/true);
      optim::SGD<double> sgd({v}, {.lr = 0.1});
      sgd.step();
      CHECK_THROWS_WITH_AS(y.backward(), Contains("backward of 'mul': one of its inputs was modified in place"), Error);
    }
  }
}
