// The vocabulary codec: a string stored in a weights file or checkpoint as an
// int64 entry of its byte values ("train.vocabulary", "train.nonlinearity").
#pragma once

#include <cstdint>
#include <string>

#include <rewind/rewind.hpp>

namespace rwd::app {

// A string as its byte values (int64), the form the files store.
xt::xarray<std::int64_t> vocabulary_codes(const std::string& vocabulary);
// The string an int64 entry `name` holds; errors name `source`.
std::string text_of_entry(const io::NpzEntries& entries, const std::string& name, const std::string& source);
// A character model's vocabulary as stored in its checkpoint ("train.vocabulary").
std::string vocabulary_of(const io::NpzEntries& checkpoint, const std::string& source);

}  // namespace rwd::app
