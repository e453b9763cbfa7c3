// The rewind::dist doctest binary, run by `mpiexec -n 2` (tests/dist/CMakeLists.txt).
// Every rank runs every test case in the same order; tests use CHECK only (never
// REQUIRE), so a failure on one rank never skips a collective the others wait in.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "dist_test_support.hpp"

namespace {
rwd::dist::Context* current = nullptr;
}

const rwd::dist::Context& mpi() { return *current; }

int main(int argc, char** argv) {
  rwd::dist::Context context(&argc, &argv);
  current = &context;
  doctest::Context tests(argc, argv);
  if (!context.is_root()) tests.setOption("minimal", true);  // other ranks print failures only
  const int failed = tests.run() != 0 ? 1 : 0;
  int any = 0;  // the job fails if any rank failed
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, context.comm());
  if (context.is_root() && any && !failed) std::puts("dist tests: another rank failed (see its output above)");
  return any;
}
