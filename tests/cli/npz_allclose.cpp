// npz_allclose actual.npz expected.npz [rtol] [atol]: every entry of expected
// must be in actual with the same shape and |a - e| <= atol + rtol |e|
// (float entries compared as double). Prints the worst entry; exit 1 on mismatch.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <rewind/rewind.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: npz_allclose actual.npz expected.npz [rtol] [atol]\n");
    return 2;
  }
  const double rtol = argc > 3 ? std::atof(argv[3]) : 1e-9, atol = argc > 4 ? std::atof(argv[4]) : 1e-12;
  try {
    const auto actual = rwd::io::read_npz(argv[1]), expected = rwd::io::read_npz(argv[2]);
    bool ok = true;
    double worst = 0;
    std::string worst_name;
    for (const auto& [name, e] : expected) {
      auto it = actual.find(name);
      if (it == actual.end() || it->second.shape != e.shape) {
        std::fprintf(stderr, "%s: missing or differently shaped in %s\n", name.c_str(), argv[1]);
        ok = false;
        continue;
      }
      auto to_double = [&](const rwd::io::NpyArray& a) {
        if (a.dtype == rwd::io::DType::Float32) return xt::xarray<double>(a.as<float>(name));
        if (a.dtype == rwd::io::DType::Int64) return xt::xarray<double>(a.as<std::int64_t>(name));
        return a.as<double>(name);
      };
      const xt::xarray<double> a = to_double(it->second), b = to_double(e);
      for (std::size_t i = 0; i < a.size(); ++i) {
        const double diff = std::abs(a.flat(i) - b.flat(i));
        const double rel = diff / std::max(std::abs(b.flat(i)), 1e-300);
        if (!(diff <= atol + rtol * std::abs(b.flat(i)))) ok = false;
        if (rel > worst || std::isnan(diff)) worst = rel, worst_name = name;
      }
    }
    std::printf("%zu entries compared, worst relative difference %.3g (%s): %s\n", expected.size(), worst,
                worst_name.c_str(), ok ? "match" : "MISMATCH");
    return ok ? 0 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "npz_allclose: %s\n", error.what());
    return 2;
  }
}
