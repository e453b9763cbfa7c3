// Shared by the fuzz targets (see fuzz/README.md): the input as a file, since
// the readers under test take paths, and the one acceptable failure, rwd::Error.
// Anything else -- a crash, a sanitizer report, another exception escaping, a
// timeout, an allocation over libFuzzer's -rss_limit_mb -- is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

namespace fuzz {

// This process's scratch folder, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("rewind_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return dir;
}

// `size` bytes at `data` written to the scratch file `name`; returns its path.
inline std::filesystem::path as_file(const std::uint8_t* data, std::size_t size, const std::string& name) {
  const auto path = scratch_dir() / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) std::abort();
  return path;
}

// Runs `read`; an rwd::Error is the expected rejection of bad bytes.
template <class Read>
void rejects_or_reads(Read&& read) {
  try {
    read();
  } catch (const rwd::Error&) {
  }
}

// A file of the test data (tests/data/...).
inline std::string test_data(const std::string& relative) { return std::string(REWIND_TEST_DATA) + "/" + relative; }

// Checks `ok` even in builds without assertions.
inline void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace fuzz
