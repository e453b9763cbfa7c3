// Reading the user's .npy/.npz files; errors say "train: " as the training
// run that first read them did.
#include "npy_files.hpp"

#include <filesystem>

namespace rwd::app {

namespace {

[[noreturn]] void fail(const std::string& what) { throw Error("train: " + what); }

}  // namespace

io::NpyArray read_npy(const std::string& path, const std::string& flag) {
  return io::read_npy(path, flag + " '" + path + "'");
}

io::NpzEntries read_npz_file(const std::string& path, const std::string& flag) {
  if (!std::filesystem::is_regular_file(path)) fail(flag + " '" + path + "': no such file");
  return io::read_npz(path);
}

template <class T>
xt::xarray<T> float_array_as(const io::NpyArray& a, const std::string& name, std::string* note) {
  if (a.dtype == io::dtype_of<T>()) return a.as<T>(name);
  xt::xarray<T> values;
  if (a.dtype == io::DType::Float64) values = xt::cast<T>(a.as<double>(name));
  else if (a.dtype == io::DType::Float32) values = xt::cast<T>(a.as<float>(name));
  else fail(name + " is " + io::dtype_name(a.dtype) + ", expected float32 or float64");
  if (note) *note = name + " is " + io::dtype_name(a.dtype) + ", converted to the model's " + io::dtype_name(io::dtype_of<T>());
  return values;
}
template xt::xarray<float> float_array_as<float>(const io::NpyArray&, const std::string&, std::string*);
template xt::xarray<double> float_array_as<double>(const io::NpyArray&, const std::string&, std::string*);

}  // namespace rwd::app
