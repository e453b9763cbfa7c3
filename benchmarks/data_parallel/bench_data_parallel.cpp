// Time per training step of data-parallel training (scripts/bench-dist.sh).
//
//   [mpirun -np N] rewind_bench_data_parallel --model rnn|lstm [--batch 64 --seq-len 200
//       --hidden 512 --steps 4 --warmup 1 --dtype float32|float64]
//
// One step, on each of the N processes (N = 1 without mpirun): forward of a
// 1-layer RNN/LSTM (input size = hidden size, as the benchmarks/ rows) and a
// Linear readout over its B/N sequences, MSE over all steps, backward, the
// gradients averaged over the processes (dist::allreduce_gradients), Adam.
// Prints rank 0's wall-clock time of each step (the exchange waits for the
// slowest process, so this is the job's step time), the time of the
// gradient exchange alone, measured afterwards on the same buffers, and the
// CPU time of each step's computation without the exchange (the slowest
// rank's): on a shared, loaded machine the processes do not each get a core,
// and the CPU times show what they would take if they did.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rewind/dist/dist.hpp>
#include <rewind/rewind.hpp>

namespace {

using namespace rwd;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model = "rnn", dtype = "float32";
  std::size_t batch = 64, seq_len = 200, hidden = 512, steps = 4, warmup = 1;
};

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

template <class T>
int run(const Options& o, const dist::Context* mpi) {
  const int rank = mpi ? mpi->rank() : 0, size = mpi ? mpi->size() : 1;
  const dist::Shard shard = dist::shard_of(o.batch, rank, size);
  Generator gen(1);
  std::shared_ptr<nn::Module<T>> rnn;
  if (o.model == "lstm")
    rnn = std::make_shared<nn::LSTM<T>>(nn::RecurrentOptions{.input_size = o.hidden, .hidden_size = o.hidden}, gen);
  else
    rnn = std::make_shared<nn::RNN<T>>(nn::RecurrentOptions{.input_size = o.hidden, .hidden_size = o.hidden}, gen);
  nn::Linear<T> head(o.hidden, 1, true, gen);
  auto params = rnn->parameters();
  for (auto& p : head.parameters()) params.push_back(p);
  optim::Adam<T> adam(params, {.lr = 1e-4});
  Generator data(2);
  const auto x = dist::shard_batch(randn<T>({o.seq_len, o.batch, o.hidden}, data), 1, shard);
  const auto y = dist::shard_batch(randn<T>({o.seq_len, o.batch, 1}, data), 1, shard);
  if (mpi) {
    dist::check_same_parameters(*mpi, *rnn);
    dist::broadcast_parameters(*mpi, params);
  }
  auto forward = [&]() -> Tensor<T> {
    if (auto* lstm = dynamic_cast<nn::LSTM<T>*>(rnn.get())) return lstm->forward(x).output;
    return dynamic_cast<nn::RNN<T>*>(rnn.get())->forward(x).output;
  };
  std::vector<double> times, cpu;
  for (std::size_t s = 0; s < o.warmup + o.steps; ++s) {
    if (mpi) MPI_Barrier(mpi->comm());
    const auto start = Clock::now();
    double compute = -cpu_ms();
    adam.zero_grad();
    nn::mse_loss(head.forward(forward()), y).backward();
    compute += cpu_ms();
    if (mpi) dist::allreduce_gradients(*mpi, params);
    compute -= cpu_ms();
    adam.step();
    compute += cpu_ms();
    if (s < o.warmup) continue;
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (mpi) MPI_Allreduce(MPI_IN_PLACE, &compute, 1, MPI_DOUBLE, MPI_MAX, mpi->comm());
    cpu.push_back(compute);
  }
  // The exchange alone (the gradients are in place from the last step's backward):
  // what overlapping it with backward could save at most.
  std::vector<double> exchange;
  for (int k = 0; mpi && k < 5; ++k) {
    adam.zero_grad();
    for (auto& p : params) p.set_grad(zeros_like(p));
    MPI_Barrier(mpi->comm());
    const auto start = Clock::now();
    dist::allreduce_gradients(*mpi, params);
    exchange.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  if (rank == 0) {
    const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
    std::printf("model=%s dtype=%s B=%zu T=%zu H=%zu processes=%d blas_threads=%s median_ms=%.2f cpu_ms=%.2f exchange_ms=%.3f steps_ms=",
                o.model.c_str(), o.dtype.c_str(), o.batch, o.seq_len, o.hidden, size, threads ? threads : "?",
                median(times), median(cpu), exchange.empty() ? 0.0 : median(exchange));
    for (std::size_t i = 0; i < times.size(); ++i) std::printf("%s%.2f", i ? "," : "", times[i]);
    std::printf("\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<dist::Context> mpi;
  if (dist::Context::launched_by_mpi()) mpi.emplace(&argc, &argv);
  try {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
      const std::string flag = argv[i], value = argv[i + 1];
      if (flag == "--model") o.model = value;
      else if (flag == "--dtype") o.dtype = value;
      else if (flag == "--batch") o.batch = std::stoul(value);
      else if (flag == "--seq-len") o.seq_len = std::stoul(value);
      else if (flag == "--hidden") o.hidden = std::stoul(value);
      else if (flag == "--steps") o.steps = std::stoul(value);
      else if (flag == "--warmup") o.warmup = std::stoul(value);
      else throw Error("unknown flag " + flag);
    }
    if (o.model != "rnn" && o.model != "lstm") throw Error("--model rnn|lstm");
    return o.dtype == "float64" ? run<double>(o, mpi ? &*mpi : nullptr) : run<float>(o, mpi ? &*mpi : nullptr);
  } catch (const std::exception& e) {
    if (mpi) mpi->abort(e.what());
    std::fprintf(stderr, "rewind_bench_data_parallel: %s\n", e.what());
    return 1;
  }
}
