// `rewind train --resume`'s checkpoint load (app::run_training): the seed
// corpus holds checkpoints of the run below. --out-dir names a regular file,
// the last check of the preparation, so every checkpoint check runs and
// nothing trains or is written.
#include "../app/train.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto not_a_directory = fuzz::as_file(nullptr, 0, "not_a_directory");
  const auto path = fuzz::as_file(data, size, "checkpoint.npz");
  rwd::app::TrainConfig config;
  config.input = fuzz::test_data("train/x.npy");
  config.target = fuzz::test_data("train/y.npy");
  config.optimizer = "adam";
  config.lr = 0.01;
  config.steps = 1000;
  config.resume = path.string();
  config.out_dir = not_a_directory.string();
  try {
    rwd::app::run_training(config);
    std::abort();  // unreachable: the out-dir check refuses every run
  } catch (const rwd::Error&) {
  }
  return 0;
}
