// Averaging over ranks in one fixed order, so every rank holds the same bits.
//
// MPI_Allreduce promises neither the order in which it adds the ranks'
// contributions nor that every rank gets the same bits. Here each element is
// summed exactly once, by one rank, in rank order (x_0 + x_1 + ... + x_{N-1},
// left to right), and the result is sent to all: a reduce-scatter through
// MPI_Alltoallv followed by MPI_Allgatherv over one contiguous buffer. Every
// rank therefore holds bitwise the same result, the same from run to run for a
// fixed N; with another N the sums are grouped differently (last-bit changes).
// Traffic per rank is about twice the buffer, as a ring allreduce.
#pragma once

#include <vector>

#include "../autograd/tensor.hpp"
#include "context.hpp"

namespace rwd::dist {

// Collective, in place: values[i] <- (sum over ranks of values[i]) in rank
// order. Every rank must pass the same number of values.
template <class T>
void sum_in_rank_order(const Context& context, std::vector<T>& values);

// Collective: the mean over ranks of one number, the same bits on every rank.
double mean_over_ranks(const Context& context, double value);

// Collective, after backward and before the optimizer step: every parameter's
// .grad() becomes the mean over ranks of the ranks' gradients, through one
// contiguous buffer in parameter order, bitwise the same on every rank.
// A parameter without a gradient counts as zero where others have one; if
// no rank has one it keeps none (so the optimizer skips it on every rank,
// as one process would). Ranks must pass the same parameters
// (check_same_parameters at start-up).
//
// With each rank's loss the mean over its equal share of the batch, the
// result is the gradient of the mean over the whole batch, as one process
// computes it (up to rounding).
template <class T>
void allreduce_gradients(const Context& context, const std::vector<Tensor<T>>& params);

}  // namespace rwd::dist
