#include "optimizer_factory.hpp"

#include <array>
#include <vector>

namespace rwd::app {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("train: " + what); }

}  // namespace

template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(const TrainConfig& c, const nn::Module<T>& model) {
  const auto& o = c.optimizer;
  if (c.momentum && o != "sgd" && o != "rmsprop") fail("--momentum applies to sgd and rmsprop, not " + o);
  if (c.nesterov && o != "sgd") fail("--nesterov applies to sgd only, not " + o);
  if (c.eps && o == "sgd") fail("--eps does not apply to sgd");
  if (c.betas != std::vector<double>{0.9, 0.999} && o != "adam" && o != "adamw")
    fail("--betas applies to adam and adamw, not " + o);
  if (c.betas.size() != 2) fail("--betas takes two numbers, e.g. 0.9,0.999");
  if (o == "sgd") {
    if (!c.lr) fail("--optimizer sgd needs --lr (PyTorch's SGD has no default learning rate)");
    return std::make_unique<optim::SGD<T>>(
        model, optim::SGDOptions{.lr = *c.lr, .momentum = c.momentum.value_or(0),
                                 .weight_decay = c.weight_decay.value_or(0), .nesterov = c.nesterov});
  }
  if (o == "adam" || o == "adamw") {
    const std::array<double, 2> betas{c.betas[0], c.betas[1]};
    if (o == "adam")
      return std::make_unique<optim::Adam<T>>(
          model, optim::AdamOptions{.lr = c.lr.value_or(1e-3), .betas = betas, .eps = c.eps.value_or(1e-8),
                                    .weight_decay = c.weight_decay.value_or(0)});
    return std::make_unique<optim::AdamW<T>>(
        model, optim::AdamWOptions{.lr = c.lr.value_or(1e-3), .betas = betas, .eps = c.eps.value_or(1e-8),
                                   .weight_decay = c.weight_decay.value_or(1e-2)});
  }
  if (o == "rmsprop")
    return std::make_unique<optim::RMSprop<T>>(
        model, optim::RMSpropOptions{.lr = c.lr.value_or(1e-2), .eps = c.eps.value_or(1e-8),
                                     .weight_decay = c.weight_decay.value_or(0), .momentum = c.momentum.value_or(0)});
  if (o == "adagrad")
    return std::make_unique<optim::Adagrad<T>>(
        model, optim::AdagradOptions{.lr = c.lr.value_or(1e-2), .weight_decay = c.weight_decay.value_or(0),
                                     .eps = c.eps.value_or(1e-10)});
  fail("unknown optimizer '" + o + "', expected sgd, adam, adamw, rmsprop or adagrad");
}

template std::unique_ptr<optim::Optimizer<float>> make_optimizer<float>(const TrainConfig&, const nn::Module<float>&);
template std::unique_ptr<optim::Optimizer<double>> make_optimizer<double>(const TrainConfig&,
                                                                          const nn::Module<double>&);

}  // namespace rwd::app
