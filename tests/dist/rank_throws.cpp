// A rank that throws mid-run ends the whole job (tests/dist/rank_throws.sh):
// rank 1 throws at step 3 while rank 0 waits in the gradient exchange; the
// catch calls Context::abort, which names the rank and the cause and stops
// every rank (MPI_Abort) instead of leaving rank 0 waiting forever.
#include <cstdio>
#include <exception>

#include <rewind/dist/dist.hpp>
#include <rewind/rewind.hpp>

int main(int argc, char** argv) {
  rwd::dist::Context mpi(&argc, &argv);
  try {
    rwd::Generator gen(0);
    rwd::nn::Linear<double> layer(4, 2, true, gen);
    const auto params = layer.parameters();
    for (int step = 1; step <= 1000; ++step) {
      layer.zero_grad();
      rwd::sum(layer.forward(rwd::randn<double>({3, 4}, gen))).backward();
      if (mpi.rank() == 1 && step == 3) throw rwd::Error("step 3: something went wrong on this rank");
      rwd::dist::allreduce_gradients(mpi, params);
    }
    std::puts("finished: rank 1 did not throw?");
  } catch (const std::exception& e) {
    mpi.abort(e.what(), 7, "rank_throws: ");
  }
  return 0;
}
