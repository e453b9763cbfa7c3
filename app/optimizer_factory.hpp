// The optimizer a training run's flags ask for (--optimizer and its options);
// options the user did not set take PyTorch's default for that optimizer.
#pragma once

#include <memory>

#include <rewind/rewind.hpp>

#include "train.hpp"

namespace rwd::app {

// Throws rwd::Error ("train: ...") for an unknown optimizer or an option it does not take.
template <class T>
std::unique_ptr<optim::Optimizer<T>> make_optimizer(const TrainConfig& c, const nn::Module<T>& model);

}  // namespace rwd::app
