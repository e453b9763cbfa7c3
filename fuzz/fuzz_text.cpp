// `rewind train --text`'s reader and corpus (app::read_text_file,
// make_char_corpus): every character maps back through the vocabulary.
#include "../app/tasks.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::as_file(data, size, "fuzz.txt");
  fuzz::rejects_or_reads([&] {
    const std::string text = rwd::app::read_text_file(path.string(), "--text");
    const auto corpus = rwd::app::make_char_corpus(text);
    fuzz::require(corpus.indices.size() == text.size());
    for (std::size_t k = 0; k < text.size(); ++k) fuzz::require(corpus.vocabulary.at(corpus.indices[k]) == text[k]);
  });
  return 0;
}
