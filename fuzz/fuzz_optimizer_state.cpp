// Optimizer state loading (Optimizer::load, optim::read_state_npz) into Adam
// and SGD with momentum over the model of tests/data/train/gru_adam_init.npz:
// the file as it is, and its "optimizer.*" entries (a `rewind train`
// checkpoint's) with the prefix dropped.
#include "../app/model_file.hpp"
#include "../app/train.hpp"
#include "fuzz_support.hpp"

namespace {
struct Setup {
  std::unique_ptr<rwd::app::SequenceModel<double>> model;
  std::unique_ptr<rwd::optim::Adam<double>> adam;
  std::unique_ptr<rwd::optim::SGD<double>> sgd;
};
Setup& setup() {
  static Setup s = [] {
    Setup made;
    made.model = rwd::app::load_model<double>(fuzz::test_data("train/gru_adam_init.npz"), "seed");
    made.adam = std::make_unique<rwd::optim::Adam<double>>(*made.model, rwd::optim::AdamOptions{.lr = 0.01});
    made.sgd = std::make_unique<rwd::optim::SGD<double>>(*made.model,
                                                         rwd::optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
    return made;
  }();
  return s;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::as_file(data, size, "fuzz.npz");
  Setup& s = setup();
  fuzz::rejects_or_reads([&] { s.adam->load(path); });
  fuzz::rejects_or_reads([&] { s.sgd->load(path); });
  fuzz::rejects_or_reads([&] {
    rwd::optim::StateDict state;
    for (const auto& [name, value] : rwd::optim::read_state_npz(path))
      if (name.rfind("optimizer.", 0) == 0) state[name.substr(10)] = value;
    s.adam->load_state_dict(state);
  });
  return 0;
}
