// Optimizers: update rules against hand-written scalar references and against
// PyTorch 1.13, option checking, state export/import and bit-exact resume.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

#include "optim_test_support.hpp"

using namespace rwd;
using namespace rwd::optim;
using optim_test::bitwise_equal;

namespace {

// ---- the test problem (the same as in tests/data/make_optim_reference.py) ----
// Two parameter groups: w (3 values, lr) and M (2x2, lr/2), and
//   loss = 0.5 Σ a (w − c)² + 0.25 Σ (M − D)⁴,  so  ∂/∂w = a (w − c),  ∂/∂M = (M − D)³.
constexpr double kA[3] = {1.0, 3.0, 0.5}, kC[3] = {0.2, -0.4, 1.0};
constexpr double kD[4] = {0.5, -0.5, 0.25, 1.0};
constexpr double kW0[3] = {0.5, -1.2, 2.0}, kM0[4] = {0.3, -0.7, 1.1, 0.4};
constexpr int kSteps = 6;
using Trajectory = std::vector<std::vector<double>>;  // after each step: w0 w1 w2 M00 M01 M10 M11

template <class T>
struct Problem {
  Tensor<T> w{T(kW0[0]), T(kW0[1]), T(kW0[2])};
  Tensor<T> M{{T(kM0[0]), T(kM0[1])}, {T(kM0[2]), T(kM0[3])}};
  Problem() {
    w.requires_grad_();
    M.requires_grad_();
  }
  Tensor<T> loss() const {
    const Tensor<T> a{T(kA[0]), T(kA[1]), T(kA[2])}, c{T(kC[0]), T(kC[1]), T(kC[2])};
    const Tensor<T> D{{T(kD[0]), T(kD[1])}, {T(kD[2]), T(kD[3])}};
    const Tensor<T> dw = w - c, dM = M - D;
    return T(0.5) * sum(a * dw * dw) + T(0.25) * sum(pow(dM, T(4)));
  }
  std::vector<double> values() const {
    std::vector<double> out(w.value().begin(), w.value().end());
    out.insert(out.end(), M.value().begin(), M.value().end());
    return out;
  }
};

template <template <class> class Opt, class T, class Options>
std::unique_ptr<OptimizerBase> two_groups(Problem<T>& p, Options options) {
  Options half = options;
  half.lr = options.lr / 2;
  return std::make_unique<Opt<T>>(std::vector<ParamGroup<T, Options>>{{{p.w}, options}, {{p.M}, half}});
}

// The configurations of make_optim_reference.py, by name.
template <class T>
std::unique_ptr<OptimizerBase> make_config(const std::string& name, Problem<T>& p) {
  if (name == "sgd") return two_groups<SGD>(p, SGDOptions{.lr = 0.1});
  if (name == "sgd_momentum") return two_groups<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9});
  if (name == "sgd_dampening") return two_groups<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  if (name == "sgd_nesterov") return two_groups<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
  if (name == "sgd_weight_decay")
    return two_groups<SGD>(p, SGDOptions{.lr = 0.1, .momentum = 0.5, .weight_decay = 0.2, .nesterov = true});
  if (name == "adam") return two_groups<Adam>(p, AdamOptions{.lr = 0.1});
  if (name == "adam_weight_decay") return two_groups<Adam>(p, AdamOptions{.lr = 0.1, .weight_decay = 0.3});
  if (name == "adam_amsgrad")
    return two_groups<Adam>(p, AdamOptions{.lr = 0.1, .betas = {0.8, 0.5}, .amsgrad = true});
  if (name == "adamw") return two_groups<AdamW>(p, AdamWOptions{.lr = 0.1});
  if (name == "adamw_decay_amsgrad")
    return two_groups<AdamW>(p, AdamWOptions{.lr = 0.1, .betas = {0.8, 0.5}, .weight_decay = 0.5, .amsgrad = true});
  if (name == "rmsprop") return two_groups<RMSprop>(p, RMSpropOptions{.lr = 0.01});
  if (name == "rmsprop_centered")
    return two_groups<RMSprop>(p, RMSpropOptions{.lr = 0.01, .alpha = 0.9, .centered = true});
  if (name == "rmsprop_momentum")
    return two_groups<RMSprop>(p, RMSpropOptions{.lr = 0.01, .weight_decay = 0.1, .momentum = 0.9});
  if (name == "rmsprop_all")
    return two_groups<RMSprop>(
        p, RMSpropOptions{.lr = 0.01, .alpha = 0.8, .weight_decay = 0.1, .momentum = 0.5, .centered = true});
  if (name == "adagrad") return two_groups<Adagrad>(p, AdagradOptions{.lr = 0.1});
  if (name == "adagrad_all")
    return two_groups<Adagrad>(
        p, AdagradOptions{.lr = 0.1, .lr_decay = 0.1, .weight_decay = 0.1, .initial_accumulator_value = 0.5});
  FAIL("unknown configuration " << name);
  return nullptr;
}

template <class T>
Trajectory run_config(const std::string& name) {
  Problem<T> p;
  auto optimizer = make_config<T>(name, p);
  Trajectory out;
  for (int step = 0; step < kSteps; ++step) {
    optimizer->zero_grad();
    p.loss().backward();
    optimizer->step();
    out.push_back(p.values());
  }
  return out;
}

// ---- hand references: each element updated in scalar code from the update ----
// rule of the PyTorch 1.13 documentation (written out again here, on purpose
// independently of optim/), with the analytic gradient of the problem.
struct Scalar {
  int t = 0;
  double m = 0, v = 0, v_max = 0, b = 0, sum = 0, g_ave = 0;
};
using ScalarRule = std::function<void(double& theta, double g, Scalar& s, double lr)>;

Trajectory hand_run(double lr, const ScalarRule& rule, double initial_sum = 0) {
  std::vector<double> theta(kW0, kW0 + 3);
  theta.insert(theta.end(), kM0, kM0 + 4);
  std::vector<Scalar> state(7);
  for (auto& s : state) s.sum = initial_sum;
  Trajectory out;
  for (int step = 0; step < kSteps; ++step) {
    for (int i = 0; i < 7; ++i) {
      const double g = i < 3 ? kA[i] * (theta[i] - kC[i]) : std::pow(theta[i] - kD[i - 3], 3);
      rule(theta[i], g, state[i], i < 3 ? lr : lr / 2);
    }
    out.push_back(theta);
  }
  return out;
}

// SGD: g += λθ; b = g (t=1) or μb + (1−τ)g; g = g + μb (nesterov) or b; θ −= γg
ScalarRule sgd(double momentum, double dampening, double weight_decay, bool nesterov) {
  return [=](double& theta, double g, Scalar& s, double lr) {
    ++s.t;
    if (weight_decay != 0) g += weight_decay * theta;
    if (momentum != 0) {
      s.b = s.t == 1 ? g : momentum * s.b + (1 - dampening) * g;
      g = nesterov ? g + momentum * s.b : s.b;
    }
    theta -= lr * g;
  };
}

// Adam / AdamW: m = β1m + (1−β1)g; v = β2v + (1−β2)g²; m̂ = m/(1−β1^t);
// AMSGrad: v_max = max(v_max, v) over the raw second moment (PyTorch 1.13's code;
// its documentation writes the max over v̂), v̂ = v_max/(1−β2^t); else v̂ = v/(1−β2^t);
// θ −= γ m̂/(√v̂ + ε). Adam: g += λθ first; AdamW: θ −= γλθ first.
ScalarRule adam(double beta1, double beta2, double weight_decay, bool amsgrad, bool decoupled) {
  return [=](double& theta, double g, Scalar& s, double lr) {
    ++s.t;
    if (decoupled)
      theta -= lr * weight_decay * theta;
    else
      g += weight_decay * theta;
    s.m = beta1 * s.m + (1 - beta1) * g;
    s.v = beta2 * s.v + (1 - beta2) * g * g;
    const double m_hat = s.m / (1 - std::pow(beta1, s.t));
    s.v_max = std::max(s.v_max, s.v);
    const double v_hat = (amsgrad ? s.v_max : s.v) / (1 - std::pow(beta2, s.t));
    theta -= lr * m_hat / (std::sqrt(v_hat) + 1e-8);
  };
}

// RMSprop: g += λθ; v = αv + (1−α)g²; ṽ = v; centered: g_ave = αg_ave + (1−α)g, ṽ −= g_ave²;
// μ > 0: b = μb + g/(√ṽ + ε), θ −= γb; else θ −= γ g/(√ṽ + ε)
ScalarRule rmsprop(double alpha, double weight_decay, double momentum, bool centered) {
  return [=](double& theta, double g, Scalar& s, double lr) {
    g += weight_decay * theta;
    s.v = alpha * s.v + (1 - alpha) * g * g;
    double v_tilde = s.v;
    if (centered) {
      s.g_ave = alpha * s.g_ave + (1 - alpha) * g;
      v_tilde -= s.g_ave * s.g_ave;
    }
    if (momentum > 0) {
      s.b = momentum * s.b + g / (std::sqrt(v_tilde) + 1e-8);
      theta -= lr * s.b;
    } else {
      theta -= lr * g / (std::sqrt(v_tilde) + 1e-8);
    }
  };
}

// Adagrad: γ̃ = γ/(1 + (t−1)η); g += λθ; sum += g²; θ −= γ̃ g/(√sum + ε)  (sum starts at τ)
ScalarRule adagrad(double lr_decay, double weight_decay) {
  return [=](double& theta, double g, Scalar& s, double lr) {
    ++s.t;
    const double clr = lr / (1 + (s.t - 1) * lr_decay);
    g += weight_decay * theta;
    s.sum += g * g;
    theta -= clr * g / (std::sqrt(s.sum) + 1e-10);
  };
}

Trajectory hand_reference(const std::string& name) {
  if (name == "sgd") return hand_run(0.1, sgd(0, 0, 0, false));
  if (name == "sgd_momentum") return hand_run(0.1, sgd(0.9, 0, 0, false));
  if (name == "sgd_dampening") return hand_run(0.1, sgd(0.9, 0.5, 0, false));
  if (name == "sgd_nesterov") return hand_run(0.1, sgd(0.9, 0, 0, true));
  if (name == "sgd_weight_decay") return hand_run(0.1, sgd(0.5, 0, 0.2, true));
  if (name == "adam") return hand_run(0.1, adam(0.9, 0.999, 0, false, false));
  if (name == "adam_weight_decay") return hand_run(0.1, adam(0.9, 0.999, 0.3, false, false));
  if (name == "adam_amsgrad") return hand_run(0.1, adam(0.8, 0.5, 0, true, false));
  if (name == "adamw") return hand_run(0.1, adam(0.9, 0.999, 0.01, false, true));
  if (name == "adamw_decay_amsgrad") return hand_run(0.1, adam(0.8, 0.5, 0.5, true, true));
  if (name == "rmsprop") return hand_run(0.01, rmsprop(0.99, 0, 0, false));
  if (name == "rmsprop_centered") return hand_run(0.01, rmsprop(0.9, 0, 0, true));
  if (name == "rmsprop_momentum") return hand_run(0.01, rmsprop(0.99, 0.1, 0.9, false));
  if (name == "rmsprop_all") return hand_run(0.01, rmsprop(0.8, 0.1, 0.5, true));
  if (name == "adagrad") return hand_run(0.1, adagrad(0, 0));
  if (name == "adagrad_all") return hand_run(0.1, adagrad(0.1, 0.1), 0.5);
  FAIL("unknown configuration " << name);
  return {};
}

const std::vector<std::string> kConfigs = {
    "sgd",     "sgd_momentum",      "sgd_dampening",       "sgd_nesterov",     "sgd_weight_decay", "adam",
    "adam_weight_decay", "adam_amsgrad", "adamw",          "adamw_decay_amsgrad", "rmsprop",       "rmsprop_centered",
    "rmsprop_momentum",  "rmsprop_all",  "adagrad",        "adagrad_all"};

// tests/data/optim_reference.txt, written by make_optim_reference.py with PyTorch 1.13.
std::map<std::string, Trajectory> torch_reference() {
  std::ifstream in(std::string(REWIND_TEST_DATA) + "/optim_reference.txt");
  REQUIRE(in.good());
  std::map<std::string, Trajectory> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, name;
    int step = 0;
    fields >> kind >> name;
    if (kind != "optimizer") continue;
    fields >> step;
    std::vector<double> values;
    for (double v; fields >> v;) values.push_back(v);
    out[name].push_back(values);
  }
  return out;
}

void check_trajectory(const Trajectory& actual, const Trajectory& expected, double tolerance) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t step = 0; step < actual.size(); ++step) {
    REQUIRE(actual[step].size() == expected[step].size());
    for (std::size_t i = 0; i < actual[step].size(); ++i) {
      CAPTURE(step);
      CAPTURE(i);
      CHECK(actual[step][i] == doctest::Approx(expected[step][i]).epsilon(tolerance));
    }
  }
}

}  // namespace

TEST_SUITE("optim") {
  TEST_CASE("every optimizer's first steps follow its update rule (hand-computed, double)") {
    for (const auto& name : kConfigs) {
      CAPTURE(name);
      check_trajectory(run_config<double>(name), hand_reference(name), 1e-12);
    }
  }

  TEST_CASE("every optimizer's first steps match PyTorch 1.13 (double and float)") {
    const auto torch = torch_reference();
    REQUIRE(torch.size() == kConfigs.size());
    for (const auto& name : kConfigs) {
      CAPTURE(name);
      REQUIRE(torch.count(name));
      check_trajectory(run_config<double>(name), torch.at(name), 1e-12);
      check_trajectory(run_config<float>(name), torch.at(name), 2e-5);
    }
  }

  TEST_CASE("the hand references tell the variants apart") {
    // Guards the test itself: each option changes the trajectory.
    auto differs = [](const Trajectory& a, const Trajectory& b) { return std::abs(a.back()[1] - b.back()[1]) > 1e-6; };
    CHECK(differs(hand_reference("sgd"), hand_reference("sgd_momentum")));
    CHECK(differs(hand_reference("sgd_momentum"), hand_reference("sgd_nesterov")));
    CHECK(differs(hand_reference("sgd_momentum"), hand_reference("sgd_dampening")));
    CHECK(differs(hand_run(0.1, adam(0.8, 0.5, 0, false, false)), hand_reference("adam_amsgrad")));
    CHECK(differs(hand_reference("adam"), hand_reference("adamw")));
    CHECK(differs(hand_reference("rmsprop"), hand_run(0.01, rmsprop(0.99, 0, 0, true))));
    CHECK(differs(hand_reference("adagrad"), hand_reference("adagrad_all")));
  }

  TEST_CASE("AdamW decays the weights, not the gradient: with a zero gradient only the decay acts") {
    // g = 0 ⇒ m = v = 0 and the Adam part of the step is 0/(0 + ε) = 0, so θ_t = θ_{t-1}(1 − γλ).
    auto w = TensorD({2.0, -4.0}).requires_grad_();
    AdamW<double> adamw({w}, {.lr = 0.1, .weight_decay = 0.5});
    for (int step = 0; step < 3; ++step) {
      w.set_grad(zeros<double>({2}));
      adamw.step();
    }
    CHECK(w.value()(0) == doctest::Approx(2.0 * std::pow(1 - 0.05, 3)).epsilon(1e-14));
    CHECK(w.value()(1) == doctest::Approx(-4.0 * std::pow(1 - 0.05, 3)).epsilon(1e-14));
  }

  TEST_CASE("a parameter without a gradient is skipped; zero_grad drops gradients") {
    auto used = TensorD({1.0, 2.0}).requires_grad_();
    auto unused = TensorD({5.0}).requires_grad_();
    Adam<double> adam({used, unused}, {.lr = 0.1, .weight_decay = 0.1});
    sum(used * used).backward();
    adam.step();
    CHECK(unused.value()(0) == 5.0);  // untouched, even by weight decay
    CHECK(adam.state(0, 1).step == 0);
    CHECK(adam.state(0, 0).step == 1);
    CHECK(used.value()(0) != 1.0);
    adam.zero_grad();
    CHECK_FALSE(used.grad().defined());
  }

  TEST_CASE("a parameter whose value changed shape since construction is reported, not corrupted") {
    auto w = TensorD({1.0, 2.0}).requires_grad_();
    Adam<double> adam({w});
    w.mutable_value() = xt::zeros<double>({3});
    w.set_grad(TensorD({1.0, 1.0, 1.0}));
    CHECK_THROWS_WITH_AS(adam.step(),
                         doctest::Contains("Adam: parameter 0 of group 0 has shape [3] but its optimizer state has shape [2]"),
                         Error);
  }

  TEST_CASE("optimizers accept a module's parameters; groups keep their own lr") {
    optim_test::ElmanRNN<double> rnn(1, 3, 1, 7);
    SGD<double> sgd(rnn, {.lr = 0.5});
    CHECK(sgd.num_param_groups() == 1);
    CHECK(sgd.params(0).size() == 6);
    CHECK(sgd.params(0)[0].id() == rnn.weight_ih.id());
    sgd.set_lr(0, 0.25);
    CHECK(sgd.lr(0) == 0.25);
    CHECK(sgd.options(0).lr == 0.25);
    CHECK_THROWS_WITH_AS(sgd.set_lr(0, -1.0), doctest::Contains("SGD: invalid learning rate: got -1"), Error);
    CHECK_THROWS_WITH_AS(sgd.params(3), doctest::Contains("parameter group 3 does not exist"), Error);
  }

  TEST_CASE("add_param_group: a group added later has its own options, defaults filling the rest") {
    // SGD with momentum, constant gradients set by hand, so the expected
    // values follow from the update rule b_1 = g, b_t = μ b_{t-1} + g, θ_t = θ_{t-1} − γ b_t:
    // w (group 0: γ = 0.1, μ = 0.9) takes three steps with g = 2, M (added after
    // the first step: γ = 0.01, μ = 0.9 from the defaults) takes two with g = 4.
    auto w = TensorD({1.0}).requires_grad_();
    auto M = TensorD({{1.0, 2.0}}).requires_grad_();
    SGD<double> sgd({w}, {.lr = 0.1, .momentum = 0.9});
    auto set_grads = [&] {
      w.set_grad(TensorD({2.0}));
      if (sgd.num_param_groups() == 2) M.set_grad(TensorD({{4.0, 4.0}}));
    };
    set_grads();
    sgd.step();
    sgd.add_param_group({M}, [](SGDOptions& o) { o.lr = 0.01; });
    REQUIRE(sgd.num_param_groups() == 2);
    CHECK(sgd.lr(1) == 0.01);
    CHECK(sgd.options(1).momentum == 0.9);  // from the defaults
    CHECK(sgd.options(1).nesterov == false);
    CHECK(sgd.state(1, 0).step == 0);
    for (int i = 0; i < 2; ++i) {
      set_grads();
      sgd.step();
    }
    // w: b = 2, 3.8, 5.42;  w = 1 − 0.1 (2 + 3.8 + 5.42) = −0.122
    CHECK(w.value()(0) == doctest::Approx(1 - 0.1 * (2 + 3.8 + 5.42)).epsilon(1e-15));
    // M: b = 4, 7.6;  M = M0 − 0.01 (4 + 7.6) = M0 − 0.116
    CHECK(M.value()(0, 0) == doctest::Approx(1 - 0.116).epsilon(1e-15));
    CHECK(M.value()(0, 1) == doctest::Approx(2 - 0.116).epsilon(1e-15));
    CHECK(sgd.state(1, 0).step == 2);

    // Without a change: exactly the defaults; with options: exactly those.
    Adam<double> adam({TensorD({0.0}).requires_grad_()}, {.lr = 0.3, .amsgrad = true});
    adam.add_param_group({TensorD({0.0}).requires_grad_()});
    CHECK(adam.options(1).lr == 0.3);
    CHECK(adam.options(1).amsgrad);
    CHECK(adam.state(1, 0).buffers.size() == 3);  // amsgrad's max_exp_avg_sq too
    adam.add_param_group({TensorD({0.0}).requires_grad_()}, AdamOptions{.lr = 0.5});
    CHECK(adam.options(2).lr == 0.5);
    CHECK_FALSE(adam.options(2).amsgrad);
    CHECK(adam.state(2, 0).buffers.size() == 2);
  }

  TEST_CASE("add_param_group rejects a tensor already in a group, bad options, an empty list; changes nothing then") {
    using doctest::Contains;
    auto w = TensorD({1.0}).requires_grad_();
    auto v = TensorD({1.0}).requires_grad_();
    Adam<double> adam({w}, {.lr = 0.1});
    CHECK_THROWS_WITH_AS(adam.add_param_group({v, w}),
                         Contains("Adam: add_param_group: parameter 1 of group 1 (shape [1]) appears more than once in "
                                  "the parameter groups: it is already in group 0"),
                         Error);
    CHECK_THROWS_WITH_AS(adam.add_param_group({v, v}), Contains("it is already in group 1"), Error);
    CHECK_THROWS_WITH_AS(adam.add_param_group({v}, [](AdamOptions& o) { o.betas[0] = 1.0; }),
                         Contains("Adam: add_param_group: invalid beta parameter at index 0: got 1"), Error);
    CHECK_THROWS_WITH_AS(adam.add_param_group({}), Contains("add_param_group: got an empty parameter list"), Error);
    CHECK_THROWS_WITH_AS(adam.add_param_group({v * 2.0}), Contains("expected a leaf tensor"), Error);
    CHECK(adam.num_param_groups() == 1);
    // SGD's lr has no default: a group must give one unless the constructor did.
    SGD<double> sgd(std::vector<SGD<double>::Group>{{{w}, {.lr = 0.1}}});
    CHECK_THROWS_WITH_AS(sgd.add_param_group({v}), Contains("SGD: add_param_group: lr is required"), Error);
    sgd.add_param_group({v}, [](SGDOptions& o) { o.lr = 0.2; });
    CHECK(sgd.lr(1) == 0.2);
  }

  TEST_CASE("add_param_group: state_dict carries the extra group and loads into an optimizer with the same groups") {
    auto make = [](std::vector<TensorD>& p) {
      p = {TensorD({1.0, -1.0}).requires_grad_(), TensorD({0.5}).requires_grad_()};
      auto rms = std::make_unique<RMSprop<double>>(std::vector<TensorD>{p[0]}, RMSpropOptions{.lr = 0.01});
      rms->add_param_group({p[1]}, [](RMSpropOptions& o) {
        o.lr = 0.02;
        o.momentum = 0.5;
      });
      return rms;
    };
    std::vector<TensorD> p, q;
    auto a = make(p), b = make(q);
    for (int i = 0; i < 3; ++i) {
      for (auto& t : p) t.set_grad(TensorD(xt::xarray<double>(t.value() * 3.0)));
      a->step();
    }
    const StateDict state = a->state_dict();
    CHECK(state.at("param_groups.1.lr")() == 0.02);
    CHECK(state.at("param_groups.1.momentum")() == 0.5);
    CHECK(state.at("param_groups.1.params")(0) == 1.0);
    CHECK(state.count("state.1.momentum_buffer") == 1);
    b->load_state_dict(state);
    CHECK(b->state_dict().size() == state.size());
    for (const auto& [key, value] : b->state_dict()) {
      CAPTURE(key);
      CHECK(bitwise_equal(value, state.at(key)));
    }
    RMSprop<double> one_group({TensorD({1.0, -1.0}).requires_grad_()}, {.lr = 0.01});
    CHECK_THROWS_WITH_AS(one_group.load_state_dict(state),
                         doctest::Contains("the state has 2 parameter groups, expected 1"), Error);
  }

  TEST_CASE("bad options and bad parameter lists throw naming the optimizer and the value") {
    auto p = TensorD({1.0}).requires_grad_();
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {.lr = -0.1}), Contains("SGD: invalid learning rate: got -0.1"), Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {}), Contains("SGD: lr is required"), Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {.lr = 0.1, .momentum = -0.5}), Contains("invalid momentum: got -0.5"),
                         Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {.lr = 0.1, .weight_decay = -1}), Contains("invalid weight_decay"), Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {.lr = 0.1, .nesterov = true}),
                         Contains("nesterov momentum requires a momentum and zero dampening"), Error);
    CHECK_THROWS_WITH_AS(SGD<double>({p}, {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .nesterov = true}),
                         Contains("got momentum=0.9, dampening=0.1"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p}, {.betas = {1.0, 0.999}}),
                         Contains("Adam: invalid beta parameter at index 0: got 1, expected 0 <= beta < 1"), Error);
    CHECK_THROWS_WITH_AS(AdamW<double>({p}, {.betas = {0.9, -0.1}}),
                         Contains("AdamW: invalid beta parameter at index 1: got -0.1"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p}, {.eps = -1e-8}), Contains("Adam: invalid epsilon value"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p}, {.lr = std::nan("")}), Contains("invalid learning rate: got nan"), Error);
    CHECK_THROWS_WITH_AS(RMSprop<double>({p}, {.momentum = -1}), Contains("RMSprop: invalid momentum value"), Error);
    CHECK_THROWS_WITH_AS(RMSprop<double>({p}, {.alpha = -0.5}), Contains("RMSprop: invalid alpha value"), Error);
    CHECK_THROWS_WITH_AS(Adagrad<double>({p}, {.lr_decay = -1}), Contains("Adagrad: invalid lr_decay value"), Error);
    CHECK_THROWS_WITH_AS(Adagrad<double>({p}, {.initial_accumulator_value = -1}),
                         Contains("invalid initial_accumulator_value value"), Error);

    CHECK_THROWS_WITH_AS(Adam<double>(std::vector<TensorD>{}), Contains("Adam: got an empty parameter list"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>(std::vector<Adam<double>::Group>{}), Contains("got no parameter groups"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>(std::vector<Adam<double>::Group>{{{p}, {}}, {{}, {}}}),
                         Contains("empty parameter list for parameter group 1"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p, TensorD({2.0, 3.0})}),
                         Contains("parameter 1 of group 0 (shape [2]) does not require grad"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p, p * 2.0}), Contains("expected a leaf tensor"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>({p, TensorD()}), Contains("parameter 1 of group 0 is undefined"), Error);
    CHECK_THROWS_WITH_AS(Adam<double>(std::vector<Adam<double>::Group>{{{p}, {}}, {{p}, {}}}),
                         Contains("appears more than once in the parameter groups: it is already in group 0"), Error);
  }

  TEST_CASE("state_dict names follow PyTorch's layout") {
    Problem<double> p;
    auto optimizer = make_config<double>("adam_amsgrad", p);
    optimizer->zero_grad();
    p.loss().backward();
    optimizer->step();
    const StateDict state = optimizer->state_dict();
    for (const char* key : {"param_groups.0.lr", "param_groups.0.betas", "param_groups.0.eps",
                            "param_groups.0.weight_decay", "param_groups.0.amsgrad", "param_groups.0.params",
                            "param_groups.1.lr", "param_groups.1.params", "state.0.step", "state.0.exp_avg",
                            "state.0.exp_avg_sq", "state.0.max_exp_avg_sq", "state.1.exp_avg"}) {
      CAPTURE(key);
      CHECK(state.count(key) == 1);
    }
    CHECK(state.size() == 2 * 6 + 2 * 4);
    CHECK(state.at("param_groups.1.lr")() == 0.05);
    CHECK(state.at("param_groups.1.params")(0) == 1.0);
    CHECK(state.at("param_groups.0.betas")(1) == 0.5);
    CHECK(state.at("state.1.step")() == 1.0);
    CHECK(state.at("state.1.exp_avg").dimension() == 2);
    CHECK(state.at("state.1.exp_avg").size() == 4);
    // m_1 = (1 − β1) g_1, with g = a (w − c) for w: 0.2 · 1 · (0.5 − 0.2)
    CHECK(state.at("state.0.exp_avg")(0) == doctest::Approx(0.2 * 0.3));
  }

  TEST_CASE("load_state_dict validates everything and changes nothing on error") {
    Problem<double> p;
    auto source = make_config<double>("sgd_momentum", p);
    p.loss().backward();
    source->step();
    const StateDict good = source->state_dict();

    Problem<double> q;
    auto target = make_config<double>("sgd_momentum", q);
    const StateDict before = target->state_dict();
    using doctest::Contains;
    auto expect_failure = [&](StateDict bad, const char* message) {
      CAPTURE(message);
      CHECK_THROWS_WITH_AS(target->load_state_dict(bad), Contains(message), Error);
      const StateDict after = target->state_dict();
      CHECK(after.size() == before.size());
      for (const auto& [key, value] : before) CHECK(bitwise_equal(after.at(key), value));
    };
    {
      StateDict bad = good;
      bad.erase("state.1.momentum_buffer");
      expect_failure(bad, "SGD: load_state_dict: the state has no 'state.1.momentum_buffer'");
    }
    {
      StateDict bad = good;
      bad["state.1.momentum_buffer"] = xt::zeros<double>({3});
      expect_failure(bad, "'state.1.momentum_buffer' has shape [3] whereas parameter 1 has shape [2, 2]");
    }
    {
      StateDict bad = good;
      bad["state.0.exp_avg"] = xt::zeros<double>({3});
      expect_failure(bad, "unexpected entry 'state.0.exp_avg'");
    }
    {
      StateDict bad = good;
      bad["param_groups.0.lr"] = xt::xarray<double>(-1.0);
      expect_failure(bad, "SGD: load_state_dict: invalid learning rate: got -1");
    }
    {
      StateDict bad = good;
      bad["state.0.step"] = xt::xarray<double>(1.5);
      expect_failure(bad, "'state.0.step' is 1.5, expected a non-negative integer");
    }
    {
      StateDict bad = good;
      bad.erase("param_groups.1.params");
      expect_failure(bad, "the state has 1 parameter groups, expected 2");
    }
    expect_failure(StateDict{}, "has no 'param_groups.0.params'");
    {
      Problem<double> r;
      auto adam = make_config<double>("adam", r);
      expect_failure(adam->state_dict(), "the state has no 'param_groups.0.momentum'");
    }
    target->load_state_dict(good);
    const StateDict loaded = target->state_dict();
    for (const auto& [key, value] : good) CHECK(bitwise_equal(loaded.at(key), value));
  }

  TEST_CASE("loading options that need other buffers reallocates them (Adam -> amsgrad)") {
    Problem<double> p, q;
    auto with = make_config<double>("adam_amsgrad", p);
    auto without = make_config<double>("adam", q);
    p.loss().backward();
    with->step();
    without->load_state_dict(with->state_dict());
    CHECK(dynamic_cast<Adam<double>&>(*without).options(0).amsgrad);
    CHECK(without->state_dict().count("state.0.max_exp_avg_sq") == 1);
    // and it now steps exactly like the optimizer it was loaded from
    q.w.mutable_value() = p.w.value();
    q.M.mutable_value() = p.M.value();
    for (auto* problem : {&p, &q}) {
      problem->w.zero_grad();
      problem->M.zero_grad();
      problem->loss().backward();
    }
    with->step();
    without->step();
    CHECK(bitwise_equal(p.w.value(), q.w.value()));
    CHECK(bitwise_equal(p.M.value(), q.M.value()));
  }
}
