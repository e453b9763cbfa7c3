// `rewind train --csv`'s reader (app::read_numeric_csv): an Error or a table
// whose values fill rows x columns.
#include "../app/tasks.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto path = fuzz::as_file(data, size, "fuzz.csv");
  fuzz::rejects_or_reads([&] {
    const auto table = rwd::app::read_numeric_csv(path.string(), "--csv");
    fuzz::require(table.rows > 0 && table.values.size() == table.rows * table.columns);
  });
  return 0;
}
