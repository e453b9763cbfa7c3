// The app's .npy/.npz file reading: whole files named by a command-line flag,
// and float arrays converted to the model's dtype.
#pragma once

#include <string>

#include <rewind/rewind.hpp>

namespace rwd::app {

// A whole .npy file / .npz archive; errors name `flag` and the path.
io::NpyArray read_npy(const std::string& path, const std::string& flag);
io::NpzEntries read_npz_file(const std::string& path, const std::string& flag);
// A float32 or float64 array as T's values; `note` (if not null) is set to one
// line saying so when it had the other dtype. Anything else throws, naming `name`.
template <class T>
xt::xarray<T> float_array_as(const io::NpyArray& a, const std::string& name, std::string* note);

}  // namespace rwd::app
