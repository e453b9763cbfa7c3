// rwd::dist::Context: this process's place in an MPI job (MPI_COMM_WORLD).
//
// The data-parallel component (rewind::dist, built when MPI is found) trains
// one model on N processes: each process takes 1/N of the batch, computes its
// gradients, and the gradients are averaged over the processes before every
// optimizer step (dist/gradients.hpp), so every process applies the same update
// to the same weights. The core library knows nothing of MPI.
//
//   int main(int argc, char** argv) {
//     rwd::dist::Context mpi(&argc, &argv);      // MPI_Init ... MPI_Finalize
//     model = ...;                                // the same architecture on every rank
//     rwd::dist::check_same_parameters(mpi, model);
//     rwd::dist::broadcast_parameters(mpi, model, 0);
//     for (...) { loss(shard of the batch).backward(); allreduce_gradients(mpi, params); opt.step(); }
//   }
//
// Start it with `mpirun -np N program`.
#pragma once

#include <mpi.h>

#include <string>

namespace rwd::dist {

class Context {
 public:
  // Initialises MPI unless it already is (then this Context leaves finalising
  // to whoever initialised it) and takes a private duplicate of
  // MPI_COMM_WORLD, so these collectives never meet the caller's messages.
  // Throws rwd::Error if MPI was already finalised (it cannot start again).
  explicit Context(int* argc = nullptr, char*** argv = nullptr);
  ~Context();  // frees the communicator; MPI_Finalize if this Context called MPI_Init
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm comm() const { return comm_; }
  // "rank 1 of 2"
  std::string where() const;

  // Ends the whole job from this rank alone, when the others cannot be told
  // (an exception on one rank mid-run, while they wait in a collective):
  // prints "<prefix>rank r of n: <why>" on stderr and calls MPI_Abort, which
  // stops every rank. Never returns.
  [[noreturn]] void abort(const std::string& why, int code = 1, const std::string& prefix = "") const;

  // True when an MPI launcher (mpirun/mpiexec of Open MPI, MPICH, or a PMI/PMIx
  // batch system) started this process: its environment says so.
  static bool launched_by_mpi();

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace rwd::dist
