#include "vocabulary.hpp"

namespace rwd::app {

xt::xarray<std::int64_t> vocabulary_codes(const std::string& vocabulary) {
  xt::xarray<std::int64_t> codes = xt::zeros<std::int64_t>({vocabulary.size()});
  for (std::size_t k = 0; k < vocabulary.size(); ++k) codes(k) = static_cast<unsigned char>(vocabulary[k]);
  return codes;
}

std::string text_of_entry(const io::NpzEntries& entries, const std::string& name, const std::string& source) {
  std::string text;
  for (const std::int64_t code : io::npz_get<std::int64_t>(entries, name, source)) {
    if (code < 0 || code > 255)
      throw Error("train: " + source + ": " + name + " holds " + std::to_string(code) + ", not a byte");
    text += static_cast<char>(static_cast<unsigned char>(code));
  }
  return text;
}

std::string vocabulary_of(const io::NpzEntries& checkpoint, const std::string& source) {
  return text_of_entry(checkpoint, "train.vocabulary", source);
}

}  // namespace rwd::app
