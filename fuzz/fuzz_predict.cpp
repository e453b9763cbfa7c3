// `rewind predict --input x.npy` with the fuzzed x.npy and the RNN of
// tests/data/train/rnn_sgd_init.npz (float64, I = 2).
#include "cli.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto input = fuzz::as_file(data, size, "x.npy");
  fuzz::run_rewind({"predict", "--checkpoint", fuzz::test_data("train/rnn_sgd_init.npz"), "--input", input.string(),
                    "--output", (fuzz::scratch_dir() / "out.npy").string()});
  return 0;
}
