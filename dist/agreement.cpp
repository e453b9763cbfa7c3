// Agreement through one allgather of every rank's message ("" = no error).
#include "agreement.hpp"

#include <climits>
#include <exception>

namespace rwd::dist {

std::vector<std::string> allgather_strings(const Context& context, const std::string& mine) {
  if (mine.size() > static_cast<std::size_t>(INT_MAX)) throw Error("dist: a message over 2 GB cannot be gathered");
  const int size = context.size();
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(static_cast<std::size_t>(size)), offsets(static_cast<std::size_t>(size));
  MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, context.comm());
  long long total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[static_cast<std::size_t>(r)] = static_cast<int>(total);
    total += lengths[static_cast<std::size_t>(r)];
    if (total > INT_MAX) throw Error("dist: the ranks' messages total over 2 GB");
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, context.comm());
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r)
    out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                             static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  return out;
}

void agree(const Context& context, const std::optional<std::string>& error) {
  // A leading '!' marks an error, so an empty message is still one.
  const auto all = allgather_strings(context, error ? "!" + *error : std::string());
  int first = -1, failed = 0;
  bool same = true;
  for (int r = 0; r < context.size(); ++r) {
    const std::string& s = all[static_cast<std::size_t>(r)];
    if (s.empty()) {
      same = false;
      continue;
    }
    ++failed;
    if (first < 0) first = r;
    else if (s != all[static_cast<std::size_t>(first)]) same = false;
  }
  if (first < 0) return;
  const std::string message = all[static_cast<std::size_t>(first)].substr(1);
  if (same) throw CollectiveError(message);
  std::string text = "rank " + std::to_string(first) + " of " + std::to_string(context.size()) + ": " + message;
  if (failed > 1) text += " (and " + std::to_string(failed - 1) + " other rank" + (failed > 2 ? "s" : "") + " failed)";
  throw CollectiveError(text);
}

void agree_on(const Context& context, const std::function<void()>& part) {
  std::optional<std::string> error;
  try {
    part();
  } catch (const std::exception& e) {
    error = e.what();
  }
  agree(context, error);
}

}  // namespace rwd::dist
