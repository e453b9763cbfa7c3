// `rewind train` on several processes (mpirun -np N rewind train ...): the
// processes of one job form a Team. Each takes its B/N slice of every batch;
// the loss and the gradients are averaged over the team before each update,
// so all hold the same weights and the run equals one process on the whole
// batch (up to rounding). Rank 0 alone prints and writes files.
//
// A process started without an MPI launcher (or a build without MPI) is a
// team of one, where every hook below does nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include <rewind/rewind.hpp>

#include "tasks.hpp"

namespace rwd::app {

class Team {
 public:
  virtual ~Team() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  bool leader() const { return rank() == 0; }

  // Runs `part` (checks of the input): alone, as is; in a team, a failure on
  // any process becomes the same error on every process, naming the rank.
  virtual void agree_on(const std::function<void()>& part) const { part(); }
  // Makes the processes' models one: the same parameters everywhere (else an
  // error on every process), then rank 0's values. Also checks that every
  // process resumes from the same step.
  virtual void share_model(const nn::Module<float>&, std::size_t /*start_step*/) const {}
  virtual void share_model(const nn::Module<double>&, std::size_t /*start_step*/) const {}
  // This process's slice of a whole batch (of `batch` sequences: an error if
  // the team's size does not divide it).
  virtual void check_batch(std::size_t /*batch*/) const {}
  virtual Batch<float> shard(const Batch<float>& whole) const { return whole; }
  virtual Batch<double> shard(const Batch<double>& whole) const { return whole; }
  // The mean over the team (the same bits on every process).
  virtual double mean(double value) const { return value; }
  virtual void average_gradients(const std::vector<Tensor<float>>&) const {}
  virtual void average_gradients(const std::vector<Tensor<double>>&) const {}

  // Runs a command's body and returns its exit code. In a team, an error every
  // process agreed on is printed by rank 0 only (exit 1), and any other
  // exception -- one process failing alone mid-run -- ends the whole job,
  // naming the rank and the cause (MPI_Abort), so no process waits forever.
  // No process returns before rank 0 has printed its message.
  virtual int run(const std::function<int()>& body) const { return body(); }
};

// The team of this process: MPI_COMM_WORLD when built with MPI and started by
// an MPI launcher, else a team of one.
std::unique_ptr<Team> join_team();

}  // namespace rwd::app
