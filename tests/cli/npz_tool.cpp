// npz_tool: the checker behind tests/cli/grads.sh.
//   npz_tool compare EXPECTED.npz ACTUAL.npz   same names, dtypes and shapes, and every
//                                              element within tolerance: |a - e| <= rtol·(|e| + 1e-3·max|e|),
//                                              rtol 1e-10 for float64, 1e-4 for float32 (0: bit-identical with --exact)
//   npz_tool copy IN.npz OUT.npz               read and write back with Rewind's own reader and writer
//   npz_tool copy-npy IN.npy OUT.npy           the same for one .npy file
// Exits 0 on success, 1 with a message otherwise.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

namespace {

using namespace rwd;

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open");
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

template <class T>
bool close(const xt::xarray<T>& expected, const xt::xarray<T>& actual, double rtol, const std::string& name) {
  double scale = 0, worst = 0;
  for (const T e : expected) scale = std::max(scale, std::abs(static_cast<double>(e)));
  bool ok = true;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double e = expected.flat(i), a = actual.flat(i);
    const double allowed = rtol * (std::abs(e) + 1e-3 * scale);
    const double error = std::abs(a - e);
    worst = std::max(worst, error / (std::abs(e) + 1e-3 * scale + 1e-300));
    if (!(error <= allowed)) {
      if (ok) std::printf("  %s[%zu]: expected %.17g, got %.17g\n", name.c_str(), i, e, a);
      ok = false;
    }
  }
  std::printf("  %-22s max relative error %.2e %s\n", name.c_str(), worst, ok ? "ok" : "FAIL");
  return ok;
}

int compare(const std::string& expected_path, const std::string& actual_path, bool exact) {
  const io::NpzEntries expected = io::read_npz(expected_path), actual = io::read_npz(actual_path);
  bool ok = true;
  for (const auto& [name, _] : actual)
    if (!expected.count(name)) {
      std::printf("  unexpected entry %s in %s\n", name.c_str(), actual_path.c_str());
      ok = false;
    }
  for (const auto& [name, e] : expected) {
    const auto it = actual.find(name);
    if (it == actual.end()) {
      std::printf("  missing entry %s in %s\n", name.c_str(), actual_path.c_str());
      ok = false;
      continue;
    }
    const io::NpyArray& a = it->second;
    if (a.dtype != e.dtype || a.shape != e.shape) {
      std::printf("  %s: expected %s %s, got %s %s\n", name.c_str(), io::dtype_name(e.dtype),
                  format_shape(e.shape).c_str(), io::dtype_name(a.dtype), format_shape(a.shape).c_str());
      ok = false;
    } else if (exact) {
      const bool same = a.bytes == e.bytes;
      std::printf("  %-22s %s\n", name.c_str(), same ? "identical" : "DIFFERENT");
      ok = ok && same;
    } else if (e.dtype == io::DType::Float64) {
      ok = close(e.as<double>(name), a.as<double>(name), 1e-10, name) && ok;
    } else if (e.dtype == io::DType::Float32) {
      ok = close(e.as<float>(name), a.as<float>(name), 1e-4, name) && ok;
    } else {
      ok = (a.bytes == e.bytes) && ok;
    }
  }
  std::printf("%s\n", ok ? "match" : "MISMATCH");
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() >= 3 && args[0] == "compare")
      return compare(args[1], args[2], args.size() == 4 && args[3] == "--exact");
    if (args.size() == 3 && args[0] == "copy") {
      io::write_npz(args[2], io::read_npz(args[1]));
      return 0;
    }
    if (args.size() == 3 && args[0] == "copy-npy") {
      const std::vector<char> bytes = read_bytes(args[1]);
      const std::vector<char> encoded = io::encode_npy(io::decode_npy(bytes.data(), bytes.size(), args[1]));
      std::ofstream(args[2], std::ios::binary).write(encoded.data(), static_cast<std::streamsize>(encoded.size()));
      return 0;
    }
    std::fprintf(stderr, "usage: npz_tool compare EXPECTED ACTUAL [--exact] | copy IN OUT | copy-npy IN OUT\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npz_tool: %s\n", e.what());
    return 1;
  }
}
