#include "state_dict.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "../autograd/engine.hpp"
#include "../autograd/instantiate.hpp"

namespace rwd::nn {

namespace {

// What the checks need to know of one stored entry.
struct EntryInfo {
  Shape shape;
  std::optional<io::DType> wrong_dtype;  // set when the entry's dtype is not the module's
};

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// Checks `entries` against the module's parameters; returns what a
// non-strict load skips, or throws listing every problem at once.
template <class T>
LoadResult check_entries(const Module<T>& module, const std::map<std::string, EntryInfo>& entries, bool strict,
                         const std::string& source) {
  LoadResult result;
  std::vector<std::string> mismatches;
  std::set<std::string> known;
  for (const auto& [name, tensor] : module.named_parameters()) {
    known.insert(name);
    const auto it = entries.find(name);
    if (it == entries.end()) {
      result.missing_keys.push_back(name);
      continue;
    }
    if (it->second.wrong_dtype)
      mismatches.push_back("dtype mismatch for " + name + ": " + io::dtype_name(*it->second.wrong_dtype) + " in " + source +
                           ", " + io::dtype_name(io::dtype_of<T>()) + " in the module");
    else if (it->second.shape != tensor.shape())
      mismatches.push_back("size mismatch for " + name + ": " + format_shape(it->second.shape) + " in " + source +
                           ", " + format_shape(tensor.shape()) + " in the module");
  }
  for (const auto& [name, _] : entries)
    if (!known.count(name)) result.unexpected_keys.push_back(name);

  std::vector<std::string> problems;
  if (strict && !result.missing_keys.empty()) problems.push_back("missing keys: " + join(result.missing_keys));
  if (strict && !result.unexpected_keys.empty()) problems.push_back("unexpected keys: " + join(result.unexpected_keys));
  problems.insert(problems.end(), mismatches.begin(), mismatches.end());
  if (!problems.empty()) {
    std::string message = "load_state_dict: error(s) loading " + source + " into " + module.type_name() +
                          " (nothing was loaded):";
    for (const auto& problem : problems) message += "\n  " + problem;
    throw Error(message);
  }
  return result;
}

// Copies each value into its parameter's existing storage; the checks have passed.
template <class T, class GetValue>
void copy_in_place(Module<T>& module, GetValue&& get_value) {
  for (auto& [name, tensor] : module.named_parameters()) {
    const std::optional<xt::xarray<T>> value = get_value(name);
    if (!value) continue;  // missing and not strict
    auto& target = tensor.mutable_value();
    std::copy(value->begin(), value->end(), target.begin());
  }
}

}  // namespace

template <class T>
StateDict<T> state_dict(const Module<T>& module) {
  StateDict<T> state;
  for (const auto& [name, tensor] : module.named_parameters()) state.emplace(name, tensor.value());
  return state;
}

template <class T>
LoadResult load_state_dict(Module<T>& module, const StateDict<T>& state, bool strict) {
  std::map<std::string, EntryInfo> entries;
  for (const auto& [name, value] : state) entries[name] = {Shape(value.shape().begin(), value.shape().end()), {}};
  LoadResult result = check_entries(module, entries, strict, "the state dict");
  copy_in_place(module, [&](const std::string& name) -> std::optional<xt::xarray<T>> {
    const auto it = state.find(name);
    return it == state.end() ? std::nullopt : std::optional<xt::xarray<T>>(it->second);
  });
  return result;
}

template <class T>
void save_state_dict(const Module<T>& module, const std::filesystem::path& path) {
  io::NpzEntries entries;
  for (const auto& [name, tensor] : module.named_parameters()) entries.emplace(name, io::NpyArray(tensor.value()));
  io::write_npz(path, entries);
}

template <class T>
LoadResult load_state_dict(Module<T>& module, const std::filesystem::path& path, bool strict) {
  const io::NpzEntries stored = io::read_npz(path);
  std::map<std::string, EntryInfo> entries;
  for (const auto& [name, array] : stored) {
    EntryInfo info{array.shape, {}};
    if (array.dtype != io::dtype_of<T>()) info.wrong_dtype = array.dtype;
    entries.emplace(name, info);
  }
  LoadResult result = check_entries(module, entries, strict, path.string());
  copy_in_place(module, [&](const std::string& name) -> std::optional<xt::xarray<T>> {
    const auto it = stored.find(name);
    return it == stored.end() ? std::nullopt : std::optional<xt::xarray<T>>(it->second.template as<T>(name));
  });
  return result;
}

#define REWIND_INSTANTIATE(T)                                                                                    \
  template StateDict<T> state_dict<T>(const Module<T>&);                                                  \
  template LoadResult load_state_dict<T>(Module<T>&, const StateDict<T>&, bool);                          \
  template void save_state_dict<T>(const Module<T>&, const std::filesystem::path&);                       \
  template LoadResult load_state_dict<T>(Module<T>&, const std::filesystem::path&, bool);
REWIND_FOR_EACH_SCALAR(REWIND_INSTANTIATE)
#undef REWIND_INSTANTIATE

}  // namespace rwd::nn
