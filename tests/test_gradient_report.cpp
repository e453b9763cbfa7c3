// The gradient report (check/gradient_report.hpp) on the Elman RNN: the
// comparison of one tensor, the table, a planted bug located at its step, the
// truncation option, float, and names it cannot map.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <rewind/rewind.hpp>

#include "elman_test_support.hpp"

using namespace rwd;
using namespace rwd::nn;
using namespace rwd::bptt;
using namespace elman_test;

// ---- the gradient report --------------------------------------------------------------

TEST_SUITE("gradient_report") {
  TEST_CASE("compare_gradient: max abs, max rel, worst element") {
    const Arr tape = {{1.0, 2.0}, {3.1, 0.0}}, ref = {{1.0, 2.0}, {3.0, 0.0}};
    const auto d = compare_gradient("w", tape, ref, Tolerance{1e-6, 0});
    CHECK_FALSE(d.passed);
    CHECK(d.max_abs == doctest::Approx(0.1));
    CHECK(d.max_rel == doctest::Approx(0.1 / 3.1));
    CHECK(d.worst == std::vector<std::size_t>{1, 0});
    CHECK(d.tape == 3.1);
    CHECK(d.reference == 3.0);
    CHECK(compare_gradient("w", tape, ref, Tolerance{0.05, 0}).passed);
    CHECK_THROWS_WITH_AS(compare_gradient("w", tape, Arr{1.0, 2.0}, Tolerance{}),
                         doctest::Contains("w: the tape's gradient has shape [2, 2], the reference's [2]"), Error);
  }

  TEST_CASE("a torch-named stacked RNN with a Linear head passes, table and all") {
    Generator gen(9);
    const std::size_t T = 30, B = 2;
    const auto model = random_model(gen, 3, {4, 4}, 2, Act::tanh);
    const Arr x = random_array({T, B, 3}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr target = random_array({T, B, 2}, gen);
    TapeRnn tape = tape_forward(model, x, h0, /*torch_layout=*/true);
    tape.o.retain_grad();
    mean(pow(tape.o - TensorD(target), 2.0)).backward();

    const TapeGradients<double> side{tape.named_parameters(), tape.h, tape.h0_stacked, tape.x};
    const auto report = check_elman_gradients(side, Act::tanh, tape.o.grad().value());
    CHECK_MESSAGE(report.passed(), report.to_string());
    CHECK(report.parameters.size() == 12);  // 4 per layer, head weight and bias, h0, x
    CHECK(report.steps.size() == 2 * T);
    CHECK_FALSE(report.first_divergence());
    const std::string table = report.to_string();
    CHECK(table.find("PASSED") != std::string::npos);
    CHECK(table.find("rnn.bias_hh_l1") != std::string::npos);
    CHECK(table.find("all ok") != std::string::npos);  // 30 passing steps per layer are elided
  }

  TEST_CASE("a gradient bug planted at one step is located at that step") {
    // The tape scales the gradient flowing from step 8 back into h_7 by 1.5
    // (a custom op: identity forward, 1.5 g backward). dL/dh_12 … dL/dh_8 stay
    // right; dL/dh_7 and everything before it go wrong.
    Generator gen(10);
    const std::size_t T = 12, B = 2;
    const auto model = random_model(gen, 2, {3}, 2, Act::tanh);
    const Arr x = random_array({T, B, 2}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, 2}, gen);
    Tamper tamper = [](std::size_t, std::size_t t, const TensorD& h_prev) {
      if (t != 8) return h_prev;
      return record<double>("buggy_identity", Arr(h_prev.value()), {h_prev},
                            [](const auto&, const auto&, const TensorD& g) { return Grads<double>{g * 1.5}; });
    };
    TapeRnn tape = tape_forward(model, x, h0, false, tamper);
    tape.o.backward(TensorD(dL_do));
    const TapeGradients<double> side{tape.named_parameters(), tape.h, tape.h0[0], tape.x};
    const auto report = check_elman_gradients(side, Act::tanh, dL_do);
    const std::string table = report.to_string();
    INFO(table);
    CHECK_FALSE(report.passed());
    for (const auto& s : report.steps) {
      CAPTURE(s.step);
      CHECK(s.difference.passed == (s.step >= 8));
    }
    REQUIRE(report.first_divergence());
    CHECK(report.first_divergence()->step == 7);
    CHECK(table.find("FAIL") != std::string::npos);
    CHECK(table.find("first goes wrong at layer 0, step 7") != std::string::npos);
  }

  TEST_CASE("check_elman_gradients passes the truncation option to the reference") {
    // A full-BPTT tape disagrees with a k = 2 reference and agrees with k = T.
    Generator gen(12);
    const std::size_t T = 6, B = 1;
    const auto model = random_model(gen, 2, {3}, 1, Act::tanh);
    const Arr x = random_array({T, B, 2}, gen);
    const auto h0 = random_h0(model, B, gen);
    const Arr dL_do = random_array({T, B, 1}, gen);
    TapeRnn tape = tape_forward(model, x, h0);
    tape.o.backward(TensorD(dL_do));
    const TapeGradients<double> side{tape.named_parameters(), tape.h, tape.h0[0], tape.x};
    BpttOptions options;
    options.truncation = 2;
    CHECK_FALSE(check_elman_gradients(side, Act::tanh, dL_do, options).passed());  // full tape vs truncated
    options.truncation = int(T);
    CHECK(check_elman_gradients(side, Act::tanh, dL_do, options).passed());
  }

  TEST_CASE("float tape against the float reference") {
    Generator gen(13);
    const std::size_t T = 20, B = 2;
    const auto xd = random_array({T, B, 3}, gen);
    const xt::xarray<float> x = xt::cast<float>(xd);
    auto U = randn<float>({4, 3}, gen, true), W = randn<float>({4, 4}, gen), bias = randn<float>({4}, gen, true);
    W.mutable_value() *= 0.4f;
    W.requires_grad_();
    TensorF xs(x, true), h = zeros<float>({B, 4});
    std::vector<TensorF> hs;
    for (std::size_t t = 0; t < T; ++t) {
      h = tanh(matmul(select(xs, 0, t), U, false, true) + matmul(h, W, false, true) + bias);
      h.retain_grad();
      hs.push_back(h);
    }
    TensorF o = stack(hs, 0);
    const xt::xarray<float> seed = xt::cast<float>(random_array({T, B, 4}, gen));
    o.backward(TensorF(seed));
    const TapeGradients<float> side{{{"U", U}, {"W", W}, {"b", bias}}, {hs}, TensorF(), xs};
    const auto report = check_elman_gradients(side, Act::tanh, seed);
    CHECK_MESSAGE(report.passed(), report.to_string());
  }

  TEST_CASE("names it cannot map are errors") {
    const TapeGradients<double> side{{{"rnn.weight_ih_l0", TensorD(mat11(1.0))}, {"gate.weight_xz", TensorD({1.0})}},
                                     {}, TensorD(), TensorD()};
    CHECK_THROWS_WITH_AS(elman_model_from_parameters(side.parameters, Act::tanh),
                         doctest::Contains("'gate.weight_xz' is not an Elman RNN parameter"), Error);
    CHECK_THROWS_WITH_AS(elman_model_from_parameters<double>({{"weight_ih_l1", TensorD(mat11(1.0))}}, Act::tanh),
                         doctest::Contains("layer 0 lacks weight_ih"), Error);
  }
}
