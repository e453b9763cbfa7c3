// The unroll of one layer in one direction that nn::Recurrent runs, for the
// other unrolls of the library (nn/checkpointed_unroll.cpp). Not public API.
#pragma once

#include <string>
#include <vector>

#include "recurrent_cell.hpp"

namespace rwd::nn::impl {

// One layer, one direction, over `input` [T, B, I] from `state`: the cell's
// fused steps when it has them and `fused` is set, else its project_input and
// step op by op. masks[t] [B, 1] (1 while t < lengths[b]; undefined where every
// sequence runs) and lengths (each in [0, T]; empty: all T) say the same thing,
// for the two paths. `name` prefixes messages. keep_steps: the fused unroll's
// step states too (retain_step_grads).
template <class T>
UnrollResult<T> run_direction(const std::string& name, const RecurrentCell<T>& cell, const Tensor<T>& input,
                              RecurrentState<T> state, const std::vector<Tensor<T>>& masks,
                              const std::vector<std::size_t>& lengths, bool reverse, bool fused,
                              bool keep_steps = false);

}  // namespace rwd::nn::impl
