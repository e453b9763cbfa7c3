// NumPy .npy arrays and .npz archives, the on-disk format of Rewind's model
// and optimizer state: `numpy.load("model.npz")` reads what Rewind writes,
// and Rewind reads what `numpy.savez` writes.
//
//   .npy: "\x93NUMPY", version (1.0), header length (uint16 LE), then a Python
//         dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//         padded with spaces and '\n' to a multiple of 64 bytes, then the raw
//         little-endian elements in C order.
//   .npz: a zip archive of "<name>.npy" entries (stored, as numpy.savez; read
//         also deflated, as numpy.savez_compressed).
//
// Supported dtypes: float32, float64 and int64 (class-index targets, step
// counters). Every malformed input -- missing file, not a zip, truncated or
// corrupt entry, unsupported dtype -- throws rwd::Error naming the file and
// the entry; none crashes.
#pragma once

#include <cstddef>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../autograd/tensor.hpp"

namespace rwd::io {

enum class DType { Float32, Float64, Int64 };

// The element types an NpyArray converts from and to.
template <class T>
concept NpyElement = std::same_as<T, float> || std::same_as<T, double> || std::same_as<T, std::int64_t>;

const char* dtype_name(DType dtype);       // "float32", "float64", "int64"
std::size_t dtype_size(DType dtype);       // bytes per element
template <NpyElement T> DType dtype_of();  // Float32, Float64, Int64

// One array: dtype, shape (empty for 0-D) and the elements' bytes, C order, little-endian.
struct NpyArray {
  DType dtype = DType::Float64;
  Shape shape;
  std::vector<char> bytes;

  NpyArray() = default;
  // From an array of float, double or std::int64_t (implicit, so entries can be
  // written as {{"weight", w}, {"step", steps}}).
  template <NpyElement T>
  NpyArray(const xt::xarray<T>& values);  // NOLINT(google-explicit-constructor)

  std::size_t numel() const;
  // The elements as an array of T; throws naming `name` and both dtypes if
  // T is not this array's dtype (no silent conversion).
  template <NpyElement T>
  xt::xarray<T> as(const std::string& name = "array") const;
};

// Archive entries by name (without the ".npy" suffix), sorted by name.
using NpzEntries = std::map<std::string, NpyArray>;

// Reads every entry of a .npz archive.
//
// Hostile archives are refused before they make Rewind allocate much more
// than the file's own size: an entry is read to at most the size its zip
// directory record declares (more is an error: the directory lies), and the
// declared sizes together may not exceed max(64 MiB, 16 x the file's size) --
// a stored archive is never near that, a deflated one only when it compresses
// better than 16:1 (a zip bomb does, ~1000:1) -- or the byte count in the
// environment variable REWIND_NPZ_MAX_BYTES when that is set (for a large,
// highly compressible model).
NpzEntries read_npz(const std::filesystem::path& path);

// Writes `entries` to `path` atomically: a temporary file in the same
// directory is written, flushed to disk and renamed over `path`, so an
// interrupted save leaves the previous file as it was, and a failed one
// removes its temporary file. Names must be non-empty.
void write_npz(const std::filesystem::path& path, const NpzEntries& entries);

// Writes `bytes` to `path` the same way (temporary file, flush, rename); errors
// start with `who` (e.g. "write_npz", "train").
void write_file_atomically(const std::filesystem::path& path, const std::vector<char>& bytes, const std::string& who);

// The entry `name` of an archive as an array of T; throws naming the entry if
// it is missing or of another dtype. `source` (e.g. the file name) prefixes the message.
template <NpyElement T>
xt::xarray<T> npz_get(const NpzEntries& entries, const std::string& name, const std::string& source = "npz");

// A whole .npy file (numpy.save's format). Errors start with `what` (e.g.
// "--input 'x.npy'"): the file is missing or unreadable, or not a valid supported .npy.
NpyArray read_npy(const std::filesystem::path& path, const std::string& what);

// One .npy file's bytes, and back. decode_npy throws naming `what` (e.g.
// "model.npz: entry 'weight'") if the bytes are not a valid supported .npy.
std::vector<char> encode_npy(const NpyArray& array);
NpyArray decode_npy(const char* data, std::size_t size, const std::string& what);

}  // namespace rwd::io
