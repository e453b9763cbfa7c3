// Data-parallel training in one process: N threads, each running the model's
// forward and backward on its shard of the batch (optim/shard.hpp) with its
// own copy of the model (its own tape, its own gradients), and the gradients
// averaged in one fixed order before the optimizer step. rewind::dist does the
// same across processes with the same shards and the same order of sums, so
// N threads and N ranks (mpiexec -n N) hold bitwise the same weights.
//
//   std::vector<Model> models(N, ...);  // the same architecture; values copied from models[0]
//   optim::DataParallel<float> parallel({models[0].parameters(), ..., models[N-1].parameters()});
//   optim::Adam<float> adam(models[0].parameters());
//   for (...) {
//     const double loss = parallel.step([&](std::size_t i) {
//       const auto shard = optim::shard_of(B, int(i), int(N), "threads");
//       auto l = loss_of(models[i], rows `shard` of the batch);
//       l.backward();
//       return double(l.item());
//     });                                // models[0]'s gradients: the mean over the shards
//     adam.step(); adam.zero_grad();
//     parallel.copy_parameters();         // models[0]'s values into the others
//   }
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

#include "../autograd/tensor.hpp"

namespace rwd::detail {
class ThreadPool;
}

namespace rwd::optim {

// ---- the fixed-order average (shared with rewind::dist/gradients.hpp) --------
// Every parameter's gradient in parameter order, then one "has a gradient"
// flag (1 or 0) per parameter: a parameter without one counts as zero.
template <class T>
std::vector<T> pack_gradients(const std::vector<Tensor<T>>& params);
// `sum`: pack_gradients' layout summed over `shards` shards in shard order.
// Every parameter's .grad() becomes sum / shards (a fresh array: a gradient
// may be shared by two leaves), or none where no shard had one (so the
// optimizer skips it, as one process would).
template <class T>
void set_mean_gradients(const std::vector<Tensor<T>>& params, const std::vector<T>& sum, std::size_t shards);
// (v_0 + v_1 + ... + v_{N-1}) / N, left to right.
double mean_in_order(const std::vector<double>& values);

template <class T>
class DataParallel {
 public:
  // One model's parameters per thread, replica 0 the one the optimizer steps;
  // every replica must have the same parameters (number and shapes: else
  // rwd::Error naming the first difference). Starts replicas.size() - 1 threads.
  explicit DataParallel(std::vector<std::vector<Tensor<T>>> replicas);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  std::size_t size() const { return replicas_.size(); }

  // Runs shard_step(i) for every replica i, each on its own thread (always
  // the same one for the same i), and returns the mean of their results in
  // replica order (the losses). Then replica 0's gradients are the mean over
  // the replicas' gradients, summed in replica order (the bits of
  // dist::allreduce_gradients over as many ranks), and the others' are
  // cleared. An exception thrown by a shard is rethrown here (the first by
  // replica), the gradients left as they are.
  double step(const std::function<double(std::size_t replica)>& shard_step);

  // After the optimizer has stepped replica 0: its values into the others.
  void copy_parameters();

 private:
  std::vector<std::vector<Tensor<T>>> replicas_;
  std::unique_ptr<rwd::detail::ThreadPool> pool_;
};

}  // namespace rwd::optim
