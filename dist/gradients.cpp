// Reduce-scatter (rank r owns chunk r and adds the N pieces of it in rank
// order), then allgather of the summed chunks.
#include "gradients.hpp"

#include <algorithm>
#include <climits>

#include "../autograd/engine.hpp"
#include "../optim/data_parallel.hpp"
#include "mpi_type.hpp"

namespace rwd::dist {

template <class T>
void sum_in_rank_order(const Context& context, std::vector<T>& values) {
  const auto n = static_cast<std::size_t>(context.size());
  if (n == 1) return;
  if (values.size() > static_cast<std::size_t>(INT_MAX)) throw Error("dist: over 2^31 values to reduce");
  // Chunk r: [offset[r], offset[r] + count[r]), the first (size % n) chunks one longer.
  std::vector<int> count(n), offset(n);
  for (std::size_t r = 0, at = 0; r < n; ++r) {
    count[r] = static_cast<int>(values.size() / n + (r < values.size() % n ? 1 : 0));
    offset[r] = static_cast<int>(at);
    at += static_cast<std::size_t>(count[r]);
  }
  const auto me = static_cast<std::size_t>(context.rank());
  const auto mine = static_cast<std::size_t>(count[me]);
  // pieces[r * mine + i]: rank r's value of element offset[me] + i.
  std::vector<T> pieces(n * mine);
  std::vector<int> piece_count(n, count[me]), piece_offset(n);
  for (std::size_t r = 0; r < n; ++r) piece_offset[r] = static_cast<int>(r * mine);
  MPI_Alltoallv(values.data(), count.data(), offset.data(), mpi_type<T>(), pieces.data(), piece_count.data(),
                piece_offset.data(), mpi_type<T>(), context.comm());
  std::vector<T> sum(pieces.begin(), pieces.begin() + std::ptrdiff_t(mine));
  for (std::size_t r = 1; r < n; ++r)
    for (std::size_t i = 0; i < mine; ++i) sum[i] += pieces[r * mine + i];
  MPI_Allgatherv(sum.data(), count[me], mpi_type<T>(), values.data(), count.data(), offset.data(), mpi_type<T>(),
                 context.comm());
}

double mean_over_ranks(const Context& context, double value) {
  std::vector<double> all(static_cast<std::size_t>(context.size()));
  MPI_Allgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, context.comm());
  return optim::mean_in_order(all);  // rank order, on every rank alike
}

// The layout and the mean are optim/data_parallel.hpp's, shared with the threads of one process.
template <class T>
void allreduce_gradients(const Context& context, const std::vector<Tensor<T>>& params) {
  if (context.size() == 1) return;
  std::vector<T> buffer = optim::pack_gradients(params);
  sum_in_rank_order(context, buffer);
  optim::set_mean_gradients(params, buffer, static_cast<std::size_t>(context.size()));
}

template void sum_in_rank_order<float>(const Context&, std::vector<float>&);
template void sum_in_rank_order<double>(const Context&, std::vector<double>&);
template void allreduce_gradients<float>(const Context&, const std::vector<Tensor<float>>&);
template void allreduce_gradients<double>(const Context&, const std::vector<Tensor<double>>&);

}  // namespace rwd::dist
