// .npy decoding (io::decode_npy): every input is rejected with an Error or
// decodes to an array that converts to its dtype and re-encodes to a .npy
// that decodes to the same array.
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace rwd::io;
  fuzz::rejects_or_reads([&] {
    const NpyArray array = decode_npy(reinterpret_cast<const char*>(data), size, "fuzz.npy");
    switch (array.dtype) {
      case DType::Float32: fuzz::require(array.as<float>().size() == array.numel()); break;
      case DType::Float64: fuzz::require(array.as<double>().size() == array.numel()); break;
      case DType::Int64: fuzz::require(array.as<std::int64_t>().size() == array.numel()); break;
    }
    const std::vector<char> again = encode_npy(array);
    const NpyArray back = decode_npy(again.data(), again.size(), "re-encoded");
    fuzz::require(back.dtype == array.dtype && back.shape == array.shape && back.bytes == array.bytes);
  });
  return 0;
}
