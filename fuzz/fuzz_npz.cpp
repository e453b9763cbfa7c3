// .npz reading (io::read_npz, libzip underneath): every input is rejected with
// an Error or reads into entries that convert to their dtype.
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rwd::io;
  const auto path = fuzz::as_file(data, size, "fuzz.npz");
  fuzz::rejects_or_reads([&] {
    for (const auto& [name, array] : read_npz(path)) {
      fuzz::require(!name.empty());
      if (array.dtype == DType::Float32) fuzz::require(array.as<float>(name).size() == array.numel());
      if (array.dtype == DType::Float64) fuzz::require(array.as<double>(name).size() == array.numel());
      if (array.dtype == DType::Int64) fuzz::require(array.as<std::int64_t>(name).size() == array.numel());
    }
  });
  return 0;
}
