// `rewind grads --input x.npy --target y.npy` with both files fuzzed and the
// model of tests/data/grads/rnn_tanh. Input layout: one byte (bit 0: the loss,
// mse or cross_entropy), two bytes n (little-endian), n bytes of x.npy, then
// y.npy (the corpus script writes seeds so).
#include <algorithm>

#include "cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const bool cross_entropy = data[0] & 1;
  const std::size_t n = std::min<std::size_t>(size - 3, data[1] | (std::size_t{data[2]} << 8));
  const auto x = fuzz::as_file(data + 3, n, "x.npy");
  const auto y = fuzz::as_file(data + 3 + n, size - 3 - n, "y.npy");
  fuzz::run_rewind({"grads", "--model", "rnn", "--input-size", "3", "--hidden-size", "4", "--output-size", "2",
                    "--state", fuzz::test_data("grads/rnn_tanh/weights.npz"), "--input", x.string(), "--target",
                    y.string(), "--loss", cross_entropy ? "cross_entropy" : "mse", "--out",
                    (fuzz::scratch_dir() / "grads.npz").string()});
  return 0;
}
