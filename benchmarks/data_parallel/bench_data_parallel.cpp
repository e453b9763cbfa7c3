// Time per training step of data-parallel training (scripts/bench-dist.sh).
//
//   [mpirun -np N] rewind_bench_data_parallel --model rnn|lstm [--batch 64 --seq-len 200
//       --hidden 512 --steps 4 --warmup 1 --dtype float32|float64 --threads 1]
//
// One step, on each of the N processes (N = 1 without mpirun): forward of a
// 1-layer RNN/LSTM (input size = hidden size, as the benchmarks/ rows) and a
// Linear readout over its B/N sequences, MSE over all steps, backward, the
// gradients averaged over the processes (dist::allreduce_gradients), Adam.
// With --threads M, each process splits its share over M threads, each with
// its own copy of the model (optim::DataParallel), the B/(N·M) sequences of
// shard rank·M + thread; the CPU time is then the process's over M.
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
#include <rewind/optim/data_parallel.hpp>
#include <rewind/rewind.hpp>

namespace {

using namespace rwd;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string model = "rnn", dtype = "float32";
  std::size_t batch = 64, seq_len = 200, hidden = 512, steps = 4, warmup = 1;
  std::size_t threads = 1;  // data-parallel threads per process (optim/data_parallel.hpp)
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

// One copy of the model and its shard of the batch (all built from the same seeds).
template <class T>
struct Replica {
  Replica(const Options& o, const dist::Shard& shard) {
    Generator gen(1);
    const nn::RecurrentOptions layer{.input_size = o.hidden, .hidden_size = o.hidden};
    if (o.model == "lstm") lstm = std::make_shared<nn::LSTM<T>>(layer, gen);
    else rnn = std::make_shared<nn::RNN<T>>(layer, gen);
    head = std::make_shared<nn::Linear<T>>(o.hidden, 1, true, gen);
    params = lstm ? lstm->parameters() : rnn->parameters();
    for (auto& p : head->parameters()) params.push_back(p);
    Generator data(2);
    x = dist::shard_batch(randn<T>({o.seq_len, o.batch, o.hidden}, data), 1, shard);
    y = dist::shard_batch(randn<T>({o.seq_len, o.batch, 1}, data), 1, shard);
  }
  double forward_backward() {
    auto loss = nn::mse_loss(head->forward(lstm ? lstm->forward(x).output : rnn->forward(x).output), y);
    loss.backward();
    return double(loss.item());
  }
  std::shared_ptr<nn::LSTM<T>> lstm;
  std::shared_ptr<nn::RNN<T>> rnn;
  std::shared_ptr<nn::Linear<T>> head;
  std::vector<Tensor<T>> params;
  Tensor<T> x, y;
};

template <class T>
std::vector<Replica<T>> make_replicas(const Options& o, int rank, int size) {
  std::vector<Replica<T>> replicas;
  const auto n = int(o.threads);
  for (int i = 0; i < n; ++i) replicas.emplace_back(o, dist::shard_of(o.batch, rank * n + i, size * n));
  return replicas;
}

// The exchange alone (gradients in place): what overlapping it with backward could save at most.
template <class T>
std::vector<double> time_exchange(const dist::Context* mpi, const std::vector<Tensor<T>>& params) {
  std::vector<double> exchange;
  for (int k = 0; mpi && k < 5; ++k) {
    for (auto p : params) p.set_grad(zeros_like(p));
    MPI_Barrier(mpi->comm());
    const auto start = Clock::now();
    dist::allreduce_gradients(*mpi, params);
    exchange.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return exchange;
}

template <class T>
int run(const Options& o, const dist::Context* mpi) {
  const int rank = mpi ? mpi->rank() : 0, size = mpi ? mpi->size() : 1;
  std::vector<Replica<T>> replicas = make_replicas<T>(o, rank, size);
  auto& params = replicas[0].params;
  std::vector<std::vector<Tensor<T>>> all;
  for (const auto& r : replicas) all.push_back(r.params);
  optim::DataParallel<T> parallel(all);
  optim::Adam<T> adam(params, {.lr = 1e-4});
  if (mpi) dist::broadcast_parameters(*mpi, params);
  parallel.copy_parameters();
  std::vector<double> times, cpu;
  for (std::size_t s = 0; s < o.warmup + o.steps; ++s) {
    if (mpi) MPI_Barrier(mpi->comm());
    const auto start = Clock::now();
    double compute = -cpu_ms();
    adam.zero_grad();
    if (o.threads == 1) replicas[0].forward_backward();
    else parallel.step([&](std::size_t i) { return replicas[i].forward_backward(); });
    compute += cpu_ms();
    if (mpi) dist::allreduce_gradients(*mpi, params);
    compute -= cpu_ms();
    adam.step();
    parallel.copy_parameters();
    compute += cpu_ms();
    if (s < o.warmup) continue;
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    compute /= double(o.threads);  // the process's CPU time over its threads
    if (mpi) MPI_Allreduce(MPI_IN_PLACE, &compute, 1, MPI_DOUBLE, MPI_MAX, mpi->comm());
    cpu.push_back(compute);
  }
  const std::vector<double> exchange = time_exchange(mpi, params);
  if (rank == 0) {
    const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
    std::printf("model=%s dtype=%s B=%zu T=%zu H=%zu processes=%d threads=%zu blas_threads=%s median_ms=%.2f "
                "cpu_ms=%.2f exchange_ms=%.3f steps_ms=",
                o.model.c_str(), o.dtype.c_str(), o.batch, o.seq_len, o.hidden, size, o.threads,
                threads ? threads : "?", median(times), median(cpu), exchange.empty() ? 0.0 : median(exchange));
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
      else if (flag == "--threads") o.threads = std::stoul(value);
      else throw Error("unknown flag " + flag);
    }
    if (o.model != "rnn" && o.model != "lstm") throw Error("--model rnn|lstm");
    if (o.threads == 0) throw Error("--threads must be >= 1");
    return o.dtype == "float64" ? run<double>(o, mpi ? &*mpi : nullptr) : run<float>(o, mpi ? &*mpi : nullptr);
  } catch (const std::exception& e) {
    if (mpi) mpi->abort(e.what());
    std::fprintf(stderr, "rewind_bench_data_parallel: %s\n", e.what());
    return 1;
  }
}
