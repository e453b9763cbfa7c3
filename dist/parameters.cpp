// The check compares one line per parameter ("name dtype [shape]"), gathered
// from every rank; the broadcast packs every value into one buffer.
#include "parameters.hpp"

#include <algorithm>
#include <climits>
#include <sstream>

#include "agreement.hpp"
#include "mpi_type.hpp"

namespace rwd::dist {

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The first difference between rank r's list and rank 0's, or "".
std::string difference(const std::vector<std::string>& root, const std::vector<std::string>& other, int rank) {
  const std::string who = "rank " + std::to_string(rank);
  const std::size_t common = std::min(root.size(), other.size());
  for (std::size_t i = 0; i < common; ++i)
    if (root[i] != other[i])
      return "parameter " + std::to_string(i) + " is '" + other[i] + "' on " + who + " but '" + root[i] + "' on rank 0";
  if (root.size() != other.size())
    return who + " has " + std::to_string(other.size()) + " parameters, rank 0 has " + std::to_string(root.size()) +
           " (first extra: '" + (root.size() > other.size() ? root[common] + "' on rank 0" : other[common] + "' on " + who) +
           ")";
  return "";
}

}  // namespace

template <class T>
void check_same_parameters(const Context& context, const std::vector<std::pair<std::string, Tensor<T>>>& named) {
  std::string mine;
  for (const auto& [name, tensor] : named)
    mine += name + " " + (sizeof(T) == 4 ? "float32" : "float64") + " " + format_shape(tensor.shape()) + "\n";
  const auto all = allgather_strings(context, mine);
  const auto root = lines_of(all[0]);
  for (int r = 1; r < context.size(); ++r) {
    const std::string diff = difference(root, lines_of(all[static_cast<std::size_t>(r)]), r);
    if (!diff.empty())
      throw CollectiveError("dist: the ranks' models differ (every rank must build the same model): " + diff);
  }
}

template <class T>
void check_same_parameters(const Context& context, const nn::Module<T>& module) {
  check_same_parameters(context, module.named_parameters());
}

template <class T>
void broadcast_parameters(const Context& context, const std::vector<Tensor<T>>& params, int root) {
  if (root < 0 || root >= context.size())
    throw Error("dist::broadcast_parameters: root " + std::to_string(root) + " is not a rank (the job has " +
                std::to_string(context.size()) + ")");
  std::size_t total = 0;
  for (const auto& p : params) total += p.numel();
  if (total > static_cast<std::size_t>(INT_MAX)) throw Error("dist::broadcast_parameters: over 2^31 values");
  std::vector<T> buffer(total);
  if (context.rank() == root) {
    std::size_t at = 0;
    for (const auto& p : params) at = std::copy_n(p.data(), p.numel(), buffer.begin() + std::ptrdiff_t(at)) - buffer.begin();
  }
  MPI_Bcast(buffer.data(), static_cast<int>(total), mpi_type<T>(), root, context.comm());
  if (context.rank() != root) {
    std::size_t at = 0;
    for (auto p : params) {
      std::copy_n(buffer.begin() + std::ptrdiff_t(at), p.numel(), p.mutable_data());
      at += p.numel();
    }
  }
}

template <class T>
void broadcast_parameters(const Context& context, const nn::Module<T>& module, int root) {
  broadcast_parameters(context, module.parameters(), root);
}

#define REWIND_DIST_PARAMETERS(T)                                                                                  \
  template void check_same_parameters<T>(const Context&, const std::vector<std::pair<std::string, Tensor<T>>>&); \
  template void check_same_parameters<T>(const Context&, const nn::Module<T>&);                                  \
  template void broadcast_parameters<T>(const Context&, const std::vector<Tensor<T>>&, int);                     \
  template void broadcast_parameters<T>(const Context&, const nn::Module<T>&, int);
REWIND_DIST_PARAMETERS(float)
REWIND_DIST_PARAMETERS(double)

}  // namespace rwd::dist
