// Reduce-scatter (rank r owns chunk r and adds the N pieces of it in rank
// order), then allgather of the summed chunks.
#include "gradients.hpp"

#include <algorithm>
#include <climits>

#include "../autograd/engine.hpp"
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
  double sum = 0;
  for (double v : all) sum += v;  // rank order, on every rank alike
  return sum / double(context.size());
}

template <class T>
void allreduce_gradients(const Context& context, const std::vector<Tensor<T>>& params) {
  if (context.size() == 1) return;
  // [every gradient, in parameter order | one "has a gradient" count per parameter]
  std::size_t total = 0;
  for (const auto& p : params) total += p.numel();
  std::vector<T> buffer(total + params.size(), T(0));
  std::size_t at = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    const Tensor<T> g = params[k].grad();
    if (g.defined()) {
      std::copy_n(g.data(), g.numel(), buffer.begin() + std::ptrdiff_t(at));
      buffer[total + k] = T(1);
    }
    at += params[k].numel();
  }
  sum_in_rank_order(context, buffer);
  const T ranks = static_cast<T>(context.size());
  at = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    Tensor<T> p = params[k];
    const std::size_t n = p.numel();
    if (buffer[total + k] == T(0)) {
      p.zero_grad();  // no rank has one
    } else {
      // A fresh array: a gradient tensor may be shared by two leaves, so it is never written in place.
      xt::xarray<T> mean = xt::empty<T>(p.shape());
      for (std::size_t i = 0; i < n; ++i) mean.data()[i] = buffer[at + i] / ranks;
      p.set_grad(Tensor<T>(std::move(mean)));
    }
    at += n;
  }
}

template void sum_in_rank_order<float>(const Context&, std::vector<float>&);
template void sum_in_rank_order<double>(const Context&, std::vector<double>&);
template void allreduce_gradients<float>(const Context&, const std::vector<Tensor<float>>&);
template void allreduce_gradients<double>(const Context&, const std::vector<Tensor<double>>&);

}  // namespace rwd::dist
