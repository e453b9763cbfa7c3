// The replicas' gradients are packed in parallel (each thread its own), then
// summed on the caller in replica order: the order of dist::sum_in_rank_order.
#include "data_parallel.hpp"

#include <algorithm>

#include "../autograd/engine.hpp"
#include "../autograd/thread_pool.hpp"

namespace rwd::optim {

template <class T>
std::vector<T> pack_gradients(const std::vector<Tensor<T>>& params) {
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
  return buffer;
}

template <class T>
void set_mean_gradients(const std::vector<Tensor<T>>& params, const std::vector<T>& sum, std::size_t shards) {
  const std::size_t total = sum.size() - params.size();
  const T count = static_cast<T>(shards);
  std::size_t at = 0;
  for (std::size_t k = 0; k < params.size(); ++k) {
    Tensor<T> p = params[k];
    const std::size_t n = p.numel();
    if (sum[total + k] == T(0)) {
      p.zero_grad();  // no shard has one
    } else {
      xt::xarray<T> mean = xt::empty<T>(p.shape());
      for (std::size_t i = 0; i < n; ++i) mean.data()[i] = sum[at + i] / count;
      p.set_grad(Tensor<T>(std::move(mean)));
    }
    at += n;
  }
}

double mean_in_order(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum / double(values.size());
}

namespace {
template <class T>
void check_replicas(const std::vector<std::vector<Tensor<T>>>& replicas) {
  if (replicas.empty()) throw Error("DataParallel: no replicas");
  const auto& first = replicas[0];
  for (std::size_t r = 1; r < replicas.size(); ++r) {
    if (replicas[r].size() != first.size())
      throw Error("DataParallel: replica " + std::to_string(r) + " has " + std::to_string(replicas[r].size()) +
                  " parameters, replica 0 has " + std::to_string(first.size()));
    for (std::size_t k = 0; k < first.size(); ++k)
      if (replicas[r][k].shape() != first[k].shape())
        throw Error("DataParallel: parameter " + std::to_string(k) + " is " + format_shape(replicas[r][k].shape()) +
                    " in replica " + std::to_string(r) + " but " + format_shape(first[k].shape()) + " in replica 0");
  }
}
}  // namespace

template <class T>
DataParallel<T>::DataParallel(std::vector<std::vector<Tensor<T>>> replicas) : replicas_(std::move(replicas)) {
  check_replicas(replicas_);
  pool_ = std::make_unique<detail::ThreadPool>(replicas_.size());
}

template <class T>
DataParallel<T>::~DataParallel() = default;

template <class T>
double DataParallel<T>::step(const std::function<double(std::size_t)>& shard_step) {
  const std::size_t n = size();
  std::vector<double> losses(n);
  std::vector<std::vector<T>> packed(n);
  pool_->run_each(n, [&](std::size_t i) {
    losses[i] = shard_step(i);
    packed[i] = pack_gradients(replicas_[i]);
  });
  std::vector<T>& sum = packed[0];
  for (std::size_t r = 1; r < n; ++r)
    for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += packed[r][i];
  set_mean_gradients(replicas_[0], sum, n);
  for (std::size_t r = 1; r < n; ++r)
    for (auto& p : replicas_[r]) p.zero_grad();
  return mean_in_order(losses);
}

template <class T>
void DataParallel<T>::copy_parameters() {
  for (std::size_t r = 1; r < size(); ++r)
    for (std::size_t k = 0; k < replicas_[0].size(); ++k)
      std::copy_n(replicas_[0][k].data(), replicas_[0][k].numel(), replicas_[r][k].mutable_data());
}

template std::vector<float> pack_gradients<float>(const std::vector<Tensor<float>>&);
template std::vector<double> pack_gradients<double>(const std::vector<Tensor<double>>&);
template void set_mean_gradients<float>(const std::vector<Tensor<float>>&, const std::vector<float>&, std::size_t);
template void set_mean_gradients<double>(const std::vector<Tensor<double>>&, const std::vector<double>&, std::size_t);
template class DataParallel<float>;
template class DataParallel<double>;

}  // namespace rwd::optim
