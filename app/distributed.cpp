// The MPI team behind `mpirun -np N rewind train`, on rewind::dist.
#include "distributed.hpp"

#ifdef REWIND_WITH_MPI
#include <fmt/core.h>

#include <rewind/dist/dist.hpp>

#include <cstdio>

#include "commands.hpp"
#endif

namespace rwd::app {

#ifdef REWIND_WITH_MPI
namespace {

class MpiTeam final : public Team {
 public:
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }

  void agree_on(const std::function<void()>& part) const override { dist::agree_on(mpi_, part); }

  void share_model(const nn::Module<float>& model, std::size_t start_step) const override {
    share(model, start_step);
  }
  void share_model(const nn::Module<double>& model, std::size_t start_step) const override {
    share(model, start_step);
  }

  void check_batch(std::size_t batch) const override {
    try {
      (void)dist::shard_of(batch, mpi_);
    } catch (const Error& e) {
      throw Error(std::string("train: ") + e.what());
    }
  }
  Batch<float> shard(const Batch<float>& whole) const override { return slice(whole); }
  Batch<double> shard(const Batch<double>& whole) const override { return slice(whole); }

  double mean(double value) const override { return dist::mean_over_ranks(mpi_, value); }
  void average_gradients(const std::vector<Tensor<float>>& params) const override {
    dist::allreduce_gradients(mpi_, params);
  }
  void average_gradients(const std::vector<Tensor<double>>& params) const override {
    dist::allreduce_gradients(mpi_, params);
  }

  int run(const std::function<int()>& body) const override {
    int code = 0;
    try {
      code = body();
    } catch (const dist::CollectiveError& e) {
      if (leader()) print_error(stderr, e.what());
      code = 1;
    } catch (const std::exception& e) {
      mpi_.abort(fmt::format("error: {}; ending the whole job", e.what()), 1, "rewind: ");
    }
    // mpirun ends the job when the first process exits non-zero: the others
    // wait here until rank 0 has printed why, or its message could be lost.
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Barrier(mpi_.comm());
    return code;
  }

 private:
  template <class T>
  void share(const nn::Module<T>& model, std::size_t start_step) const {
    const auto steps = dist::allgather_strings(mpi_, std::to_string(start_step));
    for (int r = 1; r < size(); ++r)
      if (steps[std::size_t(r)] != steps[0])
        throw dist::CollectiveError("train: rank " + std::to_string(r) + " resumes at step " + steps[std::size_t(r)] +
                                    ", rank 0 at step " + steps[0] + " (every process must read the same checkpoint)");
    dist::check_same_parameters(mpi_, model);
    dist::broadcast_parameters(mpi_, model, 0);
  }

  template <class T>
  Batch<T> slice(const Batch<T>& whole) const {
    return batch_rows(whole, dist::shard_of(whole.x.shape()[1], mpi_));
  }

  dist::Context mpi_;
};

}  // namespace
#endif

std::unique_ptr<Team> join_team() {
#ifdef REWIND_WITH_MPI
  if (dist::Context::launched_by_mpi()) return std::make_unique<MpiTeam>();
#endif
  return std::make_unique<Team>();
}

}  // namespace rwd::app
