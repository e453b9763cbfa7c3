// The tape frees itself: a long training-like loop keeps a constant number of
// live graph nodes, intermediate nodes die with (or before) the loss, and
// nothing is left for LeakSanitizer. Also: the random generator's determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include <rewind/autograd/node.hpp>  // the tests watch nodes die
#include <rewind/rewind.hpp>

#include "tanh_rnn.hpp"

using namespace rwd;

TEST_SUITE("memory") {
  TEST_CASE("10,000 SGD iterations: intermediates expire, the live node count stays flat") {
    Generator gen(3);
    auto weight = randn<double>({3, 3}, gen, true);
    auto bias = zeros<double>({3}, true);
    const auto x = randn<double>({2, 3}, gen);
    const auto target = randn<double>({2, 3}, gen) * 0.5;
    const double learning_rate = 0.05;

    const std::int64_t baseline = detail::live_nodes();
    std::int64_t highest = baseline;
    bool all_expired = true, freed_during_backward = true;
    double first_loss = 0, last_loss = 0;
    int first_leak = -1;
    for (int iteration = 0; iteration < 10000; ++iteration) {
      std::weak_ptr<detail::TensorImpl<double>> pre_node, h_node, loss_node;
      {
        // loss = mean((tanh(x Wᵀ + b) - target)²)
        TensorD h;
        {
          TensorD pre = linear(x, weight, bias);
          pre_node = detail::impl_ptr(pre);
          h = tanh(pre);
        }
        TensorD loss = mean((h - target) * (h - target));
        h_node = detail::impl_ptr(h);
        loss_node = detail::impl_ptr(loss);
        highest = std::max(highest, detail::live_nodes());
        loss.backward();
        // Backward released the records: `pre` was only held by h's record.
        freed_during_backward = freed_during_backward && pre_node.expired() && !h_node.expired();
        (iteration == 0 ? first_loss : last_loss) = loss.item();
        NoGradGuard no_grad;
        weight.mutable_value() -= learning_rate * weight.grad().value();
        bias.mutable_value() -= learning_rate * bias.grad().value();
        weight.zero_grad();
        bias.zero_grad();
      }
      all_expired = all_expired && pre_node.expired() && h_node.expired() && loss_node.expired();
      if (detail::live_nodes() != baseline && first_leak < 0) first_leak = iteration;
    }
    CHECK(first_leak == -1);  // no iteration left a node behind
    CHECK(all_expired);
    CHECK(freed_during_backward);
    CHECK(highest - baseline < 20);  // one iteration's tape, whatever the iteration count
    CHECK(last_loss < first_loss);   // and it did train
  }

  TEST_CASE("long unrolled graphs are freed whole: after backward, after grad(create_graph), or never run") {
    const std::int64_t baseline = detail::live_nodes();
    {
      Generator gen(8);
      auto layer = rnn_test::make_layer(3, 4, gen);  // not const: the check below perturbs W_ih
      std::vector<TensorD> xs;
      for (int t = 0; t < 500; ++t) xs.push_back(randn<double>({2, 3}, gen));
      const TensorD h0 = zeros<double>({2, 4});
      {
        auto hs = rnn_test::unroll(layer, xs, h0);
        sum(hs.back()).backward();
      }
      {
        auto hs = rnn_test::unroll(layer, xs, h0);  // recorded, then dropped without backward
      }
      {
        auto hs = rnn_test::unroll(layer, xs, h0);
        auto g = grad<double>({sum(hs.back())}, {layer.weight_hh}, {}, false, /*create_graph=*/true);
        auto second = grad<double>({sum(g[0] * g[0])}, {layer.weight_ih});
        REQUIRE(second[0].shape() == Shape{4, 3});
        // Its values against central differences of s(W_ih) = sum((dL/dW_hh)²),
        // each s from a first-order backward, at three of the twelve entries.
        auto s_at = [&](std::size_t i, std::size_t j, double delta) {
          const double saved = layer.weight_ih.value()(i, j);
          layer.weight_ih.mutable_value()(i, j) = saved + delta;
          const auto gh = grad<double>({sum(rnn_test::unroll(layer, xs, h0).back())}, {layer.weight_hh});
          layer.weight_ih.mutable_value()(i, j) = saved;
          return sum(gh[0] * gh[0]).item();
        };
        const double eps = 1e-5;
        for (const auto& [i, j] : {std::pair<std::size_t, std::size_t>{0, 0}, {1, 2}, {3, 1}}) {
          const double numeric = (s_at(i, j, eps) - s_at(i, j, -eps)) / (2 * eps);
          INFO("entry (", i, ", ", j, "): tape ", second[0].value()(i, j), ", finite differences ", numeric);
          CHECK(std::abs(second[0].value()(i, j) - numeric) <= 1e-5 * (1 + std::abs(numeric)));
        }
      }
      CHECK(layer.weight_hh.grad().defined());
    }
    CHECK(detail::live_nodes() == baseline);
  }

  TEST_CASE("the generator: same seed, same numbers; different seed, different numbers") {
    Generator a(123), b(123), c(124);
    const auto xa = randn<double>({4, 5}, a);
    const auto xb = randn<double>({4, 5}, b);
    const auto xc = randn<double>({4, 5}, c);
    CHECK(xa.value() == xb.value());
    CHECK(xt::any(xt::not_equal(xa.value(), xc.value())));
    // The stream continues: the next draw differs from the first.
    CHECK(xt::any(xt::not_equal(randn<double>({4, 5}, a).value(), xa.value())));
    // seed() restarts it; manual_seed does the same for the default generator.
    a.seed(123);
    CHECK(randn<double>({4, 5}, a).value() == xa.value());
    manual_seed(7);
    const auto d1 = rand<double>({6}, default_generator());
    manual_seed(7);
    CHECK(rand<double>({6}).value() == d1.value());
    // float draws are the double draws rounded.
    Generator f(123);
    const auto xf = randn<float>({4, 5}, f);
    for (std::size_t k = 0; k < xf.numel(); ++k) CHECK(xf.data()[k] == static_cast<float>(xa.data()[k]));
  }

  TEST_CASE("the generator is the standard mt19937_64, so its numbers are the same everywhere") {
    // The C++ standard fixes mt19937_64: seeded with 5489, its 10000th output is
    // 9981545732273789042 ([rand.predef]). next_unit keeps the top 53 bits.
    Generator gen(5489);
    gen.engine().discard(9999);
    const double expected = static_cast<double>(9981545732273789042ULL >> 11) * 0x1.0p-53;
    CHECK(gen.next_unit() == expected);
  }

  TEST_CASE("the generator's distributions: ranges and moments") {
    Generator gen(11);
    const auto u = uniform<double>({10000}, -2.0, 3.0, gen);
    CHECK(xt::amin(u.value())() >= -2.0);
    CHECK(xt::amax(u.value())() < 3.0);
    CHECK(mean(u).item() == doctest::Approx(0.5).epsilon(0.05));
    const auto r = rand<double>({10000}, gen);
    CHECK(xt::amin(r.value())() >= 0.0);
    CHECK(xt::amax(r.value())() < 1.0);
    // N(0, 1): mean within ~4 standard errors (0.01) of 0, variance near 1.
    const auto n = randn<double>({10000}, gen);
    const double m = mean(n).item();
    CHECK(std::abs(m) < 0.04);
    CHECK(mean((n - m) * (n - m)).item() == doctest::Approx(1.0).epsilon(0.05));
  }
}
