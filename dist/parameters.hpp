// Making the ranks' models one model: a start-up check that they have the same
// parameters, and a broadcast of one rank's values to all.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "../autograd/tensor.hpp"
#include "../nn/module.hpp"
#include "context.hpp"

namespace rwd::dist {

// Collective: every rank must hold the same parameters -- the same names, in
// the same order, with the same shapes and dtypes -- or the gradient exchange
// would mix unrelated numbers (or wait forever on buffers of different sizes).
// On any difference, throws CollectiveError on every rank, naming the first
// rank that differs from rank 0 and the first parameter that differs.
template <class T>
void check_same_parameters(const Context& context, const std::vector<std::pair<std::string, Tensor<T>>>& named);
template <class T>
void check_same_parameters(const Context& context, const nn::Module<T>& module);

// Collective: copies `root`'s parameter values into every rank's parameters
// (in place, so optimizers holding them see the values), in one message.
// Ranks must have passed check_same_parameters. Throws rwd::Error on every
// rank if root is not a rank.
template <class T>
void broadcast_parameters(const Context& context, const std::vector<Tensor<T>>& params, int root = 0);
template <class T>
void broadcast_parameters(const Context& context, const nn::Module<T>& module, int root = 0);

}  // namespace rwd::dist
