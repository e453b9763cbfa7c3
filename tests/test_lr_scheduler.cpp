// LR schedulers: values against their closed forms (computed here) and against
// PyTorch 1.13 (tests/data/optim_reference.txt, from make_optim_reference.py).
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

using namespace rwd;
using namespace rwd::optim;

namespace {

std::map<std::string, std::vector<double>> torch_schedules() {
  std::ifstream in(std::string(REWIND_TEST_DATA) + "/optim_reference.txt");
  REQUIRE(in.good());
  std::map<std::string, std::vector<double>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, name;
    fields >> kind >> name;
    if (kind != "scheduler") continue;
    for (double v; fields >> v;) out[name].push_back(v);
  }
  return out;
}

// The lr of group 0 at epochs 0..n-1, stepping the optimizer then the scheduler.
std::vector<double> lrs(OptimizerBase& optimizer, LRScheduler& scheduler, int n) {
  std::vector<double> out;
  for (int epoch = 0; epoch < n; ++epoch) {
    out.push_back(optimizer.lr(0));
    optimizer.step();
    scheduler.step();
  }
  return out;
}

void check_values(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    CAPTURE(i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-13));
  }
}

}  // namespace

TEST_SUITE("lr_scheduler") {
  TEST_CASE("each schedule equals its closed form and PyTorch 1.13's values") {
    const auto torch = torch_schedules();
    REQUIRE(torch.size() == 5);
    auto p = TensorD({0.0}).requires_grad_();
    const double pi = std::numbers::pi;
    {
      SGD<double> sgd({p}, {.lr = 0.5});
      StepLR scheduler(sgd, 3, 0.5);
      std::vector<double> expected;  // 0.5 · 0.5^⌊e/3⌋
      for (int e = 0; e < 15; ++e) expected.push_back(0.5 * std::pow(0.5, e / 3));
      const auto actual = lrs(sgd, scheduler, 15);
      check_values(actual, expected);
      check_values(actual, torch.at("step"));
    }
    {
      SGD<double> sgd({p}, {.lr = 0.5});
      ExponentialLR scheduler(sgd, 0.9);
      std::vector<double> expected;  // 0.5 · 0.9^e
      for (int e = 0; e < 15; ++e) expected.push_back(0.5 * std::pow(0.9, e));
      const auto actual = lrs(sgd, scheduler, 15);
      check_values(actual, expected);
      check_values(actual, torch.at("exponential"));
    }
    {
      SGD<double> sgd({p}, {.lr = 0.5});
      CosineAnnealingLR scheduler(sgd, 10, 0.01);
      std::vector<double> expected;  // 0.01 + 0.49 (1 + cos(π e / 10)) / 2, past T_max too
      for (int e = 0; e < 15; ++e) expected.push_back(0.01 + 0.49 * (1 + std::cos(pi * e / 10)) / 2);
      const auto actual = lrs(sgd, scheduler, 15);
      check_values(actual, expected);
      check_values(actual, torch.at("cosine"));
    }
    {
      SGD<double> sgd({p}, {.lr = 0.5});
      LinearWarmup scheduler(sgd, 0.25, 4);
      std::vector<double> expected;  // 0.5 (0.25 + 0.75 min(e, 4)/4)
      for (int e = 0; e < 15; ++e) expected.push_back(0.5 * (0.25 + 0.75 * std::min(e, 4) / 4.0));
      const auto actual = lrs(sgd, scheduler, 15);
      check_values(actual, expected);
      check_values(actual, torch.at("linear"));  // PyTorch's LinearLR(start_factor=0.25, total_iters=4)
    }
    {
      SGD<double> sgd({p}, {.lr = 0.5});
      auto warmup = std::make_shared<LinearWarmup>(sgd, 0.1, 3);
      auto cosine = std::make_shared<CosineAnnealingLR>(sgd, 8);
      SequentialLR scheduler(sgd, {warmup, cosine}, {3});
      std::vector<double> expected;  // warm-up for e < 3, then cosine restarted at epoch 3
      for (int e = 0; e < 15; ++e)
        expected.push_back(e < 3 ? 0.5 * (0.1 + 0.9 * e / 3.0) : 0.5 * (1 + std::cos(pi * (e - 3) / 8)) / 2);
      const auto actual = lrs(sgd, scheduler, 15);
      check_values(actual, expected);
      check_values(actual, torch.at("sequential"));
    }
  }

  TEST_CASE("ChainedScheduler: the children's factors multiply, stepped together") {
    // base 0.1; LinearWarmup(0.5, 4) · ExponentialLR(0.9) · StepLR(3, 0.5). The
    // factors, by hand: warm-up 0.5 + 0.5 min(e, 4)/4, decay 0.9^e, steps 0.5^⌊e/3⌋;
    // their product times 0.1 for e = 0..7. (PyTorch's ChainedScheduler steps
    // each child's recursive form, which multiplies the lr by that child's ratio
    // lr(e)/lr(e−1): the product telescopes to the same values.)
    const std::vector<double> expected = {
        0.1 * 0.5 * 1.0 * 1.0,            // 0.05
        0.1 * 0.625 * 0.9 * 1.0,          // 0.05625
        0.1 * 0.75 * 0.81 * 1.0,          // 0.06075
        0.1 * 0.875 * 0.729 * 0.5,        // 0.03189375
        0.1 * 1.0 * 0.6561 * 0.5,         // 0.032805
        0.1 * 1.0 * 0.59049 * 0.5,        // 0.0295245
        0.1 * 1.0 * 0.531441 * 0.25,      // 0.013286025
        0.1 * 1.0 * 0.4782969 * 0.25,     // 0.0119574225
    };
    auto p = TensorD({0.0}).requires_grad_();
    SGD<double> sgd({p}, {.lr = 0.1});
    auto make = [](SGD<double>& opt) {
      auto warmup = std::make_shared<LinearWarmup>(opt, 0.5, 4);
      auto decay = std::make_shared<ExponentialLR>(opt, 0.9);
      auto steps = std::make_shared<StepLR>(opt, 3, 0.5);
      return std::make_unique<ChainedScheduler>(opt, std::vector<std::shared_ptr<LRScheduler>>{warmup, decay, steps});
    };
    auto chained = make(sgd);
    CHECK(chained->base_lrs() == std::vector<double>{0.1});  // the first child's, not the lr its siblings set
    check_values(lrs(sgd, *chained, 8), expected);
    CHECK(chained->last_epoch() == 8);

    // Its state is its position: a fresh chain loaded at epoch 5 continues from there.
    auto q = TensorD({0.0}).requires_grad_();
    SGD<double> other({q}, {.lr = 0.1});
    auto fresh = make(other);
    StateDict state = chained->state_dict();
    state["last_epoch"] = xt::xarray<double>(5.0);
    fresh->load_state_dict(state);
    fresh->step();
    CHECK(other.lr(0) == doctest::Approx(expected[6]).epsilon(1e-13));

    // A single child is that child; a zero base lr stays zero.
    SGD<double> single({TensorD({0.0}).requires_grad_()}, {.lr = 0.2});
    auto cosine = std::make_shared<CosineAnnealingLR>(single, 10, 0.01);
    ChainedScheduler only(single, {cosine});
    for (int e = 0; e < 4; ++e) {
      CHECK(single.lr(0) == doctest::Approx(cosine->lr_at(0.2, e)).epsilon(1e-14));
      only.step();
    }
    SGD<double> zero({TensorD({0.0}).requires_grad_()}, {.lr = 0.0});
    ChainedScheduler none(zero, {std::make_shared<ExponentialLR>(zero, 0.9)});
    none.step();
    CHECK(zero.lr(0) == 0.0);
  }

  TEST_CASE("a scheduler sets every group's lr from that group's base lr") {
    auto a = TensorD({0.0}).requires_grad_();
    auto b = TensorD({0.0}).requires_grad_();
    Adam<double> adam(std::vector<Adam<double>::Group>{{{a}, {.lr = 0.1}}, {{b}, {.lr = 0.02}}});
    ExponentialLR scheduler(adam, 0.5);
    scheduler.step();
    scheduler.step();
    CHECK(adam.lr(0) == doctest::Approx(0.1 * 0.25));
    CHECK(adam.lr(1) == doctest::Approx(0.02 * 0.25));
    CHECK(scheduler.get_last_lr() == std::vector<double>{adam.lr(0), adam.lr(1)});
    CHECK(scheduler.last_epoch() == 2);
  }

  TEST_CASE("scheduler state round-trips and is validated") {
    auto p = TensorD({0.0}).requires_grad_();
    SGD<double> sgd({p}, {.lr = 1.0});
    StepLR scheduler(sgd, 2, 0.1);
    for (int i = 0; i < 5; ++i) scheduler.step();
    const StateDict state = scheduler.state_dict();
    CHECK(state.at("last_epoch")() == 5.0);
    CHECK(state.at("base_lrs")(0) == 1.0);

    SGD<double> fresh_sgd({TensorD({0.0}).requires_grad_()}, {.lr = 7.0});
    StepLR fresh(fresh_sgd, 2, 0.1);
    fresh.load_state_dict(state);
    fresh.step();
    CHECK(fresh_sgd.lr(0) == doctest::Approx(1.0 * 0.001));  // epoch 6: base 1.0 · 0.1^3

    using doctest::Contains;
    StateDict bad = state;
    bad["last_epoch"] = xt::xarray<double>(-1.0);
    CHECK_THROWS_WITH_AS(fresh.load_state_dict(bad), Contains("'last_epoch' must be one non-negative integer"), Error);
    bad = state;
    bad["base_lrs"] = xt::zeros<double>({2});
    CHECK_THROWS_WITH_AS(fresh.load_state_dict(bad), Contains("'base_lrs' has 2 values, expected 1"), Error);
    bad = state;
    bad["momentum"] = xt::zeros<double>({1});
    CHECK_THROWS_WITH_AS(fresh.load_state_dict(bad), Contains("unexpected entry 'momentum'"), Error);
  }

  TEST_CASE("bad scheduler arguments throw") {
    auto p = TensorD({0.0}).requires_grad_();
    SGD<double> sgd({p}, {.lr = 1.0});
    SGD<double> other({TensorD({0.0}).requires_grad_()}, {.lr = 1.0});
    using doctest::Contains;
    CHECK_THROWS_WITH_AS(StepLR(sgd, 0), Contains("StepLR: invalid step_size: got 0"), Error);
    CHECK_THROWS_WITH_AS(ExponentialLR(sgd, -0.5), Contains("ExponentialLR: invalid gamma: got -0.5"), Error);
    CHECK_THROWS_WITH_AS(CosineAnnealingLR(sgd, 0), Contains("invalid T_max"), Error);
    CHECK_THROWS_WITH_AS(LinearWarmup(sgd, 1.5, 3), Contains("LinearWarmup: invalid start_factor: got 1.5"), Error);
    CHECK_THROWS_WITH_AS(LinearWarmup(sgd, 0.5, 0), Contains("invalid warmup_steps"), Error);
    auto s1 = std::make_shared<ExponentialLR>(sgd, 0.9);
    auto s2 = std::make_shared<ExponentialLR>(other, 0.9);
    CHECK_THROWS_WITH_AS(SequentialLR(sgd, {s1, s2}, {3}), Contains("scheduler 1 drives another optimizer"), Error);
    CHECK_THROWS_WITH_AS(SequentialLR(sgd, {s1, s1}, {}), Contains("one milestone fewer than schedulers"), Error);
    CHECK_THROWS_WITH_AS(SequentialLR(sgd, {s1, s1, s1}, {3, 2}), Contains("positive and increasing"), Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler(sgd, {s1, s2}),
                         Contains("ChainedScheduler: scheduler 1 drives another optimizer"), Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler(sgd, {}), Contains("ChainedScheduler: got no schedulers"), Error);
    CHECK_THROWS_WITH_AS(ChainedScheduler(sgd, {s1, nullptr}), Contains("ChainedScheduler: scheduler 1 is null"),
                         Error);
  }
}
