// MPI start and stop, and the job-wide abort.
#include "context.hpp"

#include <cstdio>
#include <cstdlib>

#include "../autograd/engine.hpp"

namespace rwd::dist {

Context::Context(int* argc, char*** argv) {
  int finalized = 0, initialized = 0;
  MPI_Finalized(&finalized);
  if (finalized) throw Error("dist::Context: MPI was already finalised in this process; it cannot start again");
  MPI_Initialized(&initialized);
  if (!initialized) {
    // The training loop calls MPI from the main thread only.
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  MPI_Comm_dup(MPI_COMM_WORLD, &comm_);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

Context::~Context() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  if (owns_mpi_) MPI_Finalize();
}

std::string Context::where() const { return "rank " + std::to_string(rank_) + " of " + std::to_string(size_); }

void Context::abort(const std::string& why, int code, const std::string& prefix) const {
  std::fflush(stdout);
  std::fprintf(stderr, "%s%s: %s\n", prefix.c_str(), where().c_str(), why.c_str());
  std::fflush(stderr);
  MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, code);
  std::abort();  // MPI_Abort does not return; this only satisfies [[noreturn]]
}

bool Context::launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(name)) return true;
  return false;
}

}  // namespace rwd::dist
