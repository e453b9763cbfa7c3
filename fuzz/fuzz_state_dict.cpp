// A model's load_state_dict from a .npz (nn::load_state_dict), strict and not,
// into the GRU + Linear head of tests/data/train/gru_adam_init.npz (float64)
// and the same model in float32.
#include "../app/model_file.hpp"
#include "fuzz_support.hpp"

namespace {
template <class T>
rwd::app::SequenceModel<T>& model() {
  static const auto instance = [] {
    const auto a = rwd::app::architecture_of(rwd::io::read_npz(fuzz::test_data("train/gru_adam_init.npz")), "seed");
    rwd::Generator gen(0);
    return std::make_unique<rwd::app::SequenceModel<T>>(
        rwd::app::SequenceModelOptions{.cell = a.kind, .input_size = a.input, .hidden_size = a.hidden,
                                       .output_size = a.output, .num_layers = a.layers},
        gen);
  }();
  return *instance;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::as_file(data, size, "fuzz.npz");
  for (const bool strict : {true, false}) {
    fuzz::rejects_or_reads([&] { rwd::nn::load_state_dict(model<double>(), path, strict); });
    fuzz::rejects_or_reads([&] { rwd::nn::load_state_dict(model<float>(), path, strict); });
  }
  return 0;
}
