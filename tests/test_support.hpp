// Small helpers shared by several test files.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <iterator>
#include <string>

#include <doctest/doctest.h>
#include <xtensor/xarray.hpp>

namespace test_support {

// A fresh directory, removed with everything in it when the test ends. The
// process id keeps parallel ctest entries apart.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("rewind_test_" + name + "_" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::size_t file_count() const {
    return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path), {}));
  }
};

// |got - expected| <= tolerance (1 + |expected|), element by element.
inline void check_close(const xt::xarray<double>& got, const xt::xarray<double>& expected, double tolerance) {
  REQUIRE(got.shape() == expected.shape());
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO("element ", k, ": got ", got.data()[k], ", expected ", expected.data()[k]);
    CHECK(std::abs(got.data()[k] - expected.data()[k]) <= tolerance * (1 + std::abs(expected.data()[k])));
  }
}

}  // namespace test_support
