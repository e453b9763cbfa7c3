// Saving and loading a module's parameters, by their dotted PyTorch names
// ("rnn.weight_ih_l0"), in memory or as a .npz file that numpy (and so
// PyTorch, via torch.from_numpy) reads directly.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "module.hpp"
#include "../io/npz.hpp"

namespace rwd::nn {

// Parameter values by dotted name (copies, not the live tensors).
template <class T>
using StateDict = std::map<std::string, xt::xarray<T>>;

// What a non-strict load skipped (PyTorch's missing_keys / unexpected_keys).
struct LoadResult {
  std::vector<std::string> missing_keys;     // parameters of the module absent from the state
  std::vector<std::string> unexpected_keys;  // entries of the state that the module lacks
};

// A copy of every parameter's value.
template <class T>
StateDict<T> state_dict(const Module<T>& module);

// Copies `state` into the module's parameters, in place (mutable_value), so
// every handle on them -- an optimizer's included -- sees the new values.
// All problems are collected first: with strict, every missing and every
// unexpected name; always, every shape mismatch. If there is any, one Error
// lists them all and the module is left untouched (never half loaded).
// Without strict, missing and unexpected names are skipped and reported.
template <class T>
LoadResult load_state_dict(Module<T>& module, const StateDict<T>& state, bool strict = true);

// Writes every parameter as "<dotted name>.npy" into a .npz archive (dtype
// float32 for float, float64 for double), atomically (see io::write_npz).
template <class T>
void save_state_dict(const Module<T>& module, const std::filesystem::path& path);

// Reads a .npz archive into the module, as load_state_dict above; an entry
// whose dtype is not T's is an error too (no silent conversion), and the
// message names the file.
template <class T>
LoadResult load_state_dict(Module<T>& module, const std::filesystem::path& path, bool strict = true);

}  // namespace rwd::nn
