// The data `rewind train` fits a SequenceModel on: the built-in tasks,
// generated in memory (sine, adding, the embedded Reber grammar), and the
// user's text or numeric CSV file; one fresh batch per step.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include <rewind/optim/shard.hpp>
#include <rewind/rewind.hpp>

namespace rwd::app {

// Each batch is drawn from its own Generator(seed, step), so step s sees the same
// data whether the run started at 0 or resumed at s (bit-for-bit --resume).

enum class TaskKind {
  sine,    // next value of a sine wave, MSE
  adding,  // the adding problem, MSE at the last step
  chars,   // next character (--task reber, --text FILE), cross-entropy
  series,  // next row of a numeric sequence (--csv FILE), MSE
  files    // --input/--target arrays, one full batch
};

template <class T>
struct Batch {
  Tensor<T> x;                         // [T, B, I]
  Tensor<T> y;                         // regression targets: [T, B, O] (sine) or [B, 1] (adding, last step only)
  std::vector<std::int64_t> classes;   // cross-entropy targets, t-major [T·B] (chars; files with --loss cross_entropy)
};

// Rows `s` of the batch axis of a batch (a data-parallel shard: optim/shard.hpp).
template <class T>
Batch<T> batch_rows(const Batch<T>& whole, const optim::Shard& s) {
  const std::size_t batch = whole.x.shape()[1];
  Batch<T> part;
  part.x = optim::shard_batch(whole.x, 1, s);
  // y: [T, B, O], or [B, 1] (the adding task's last step)
  if (whole.y.defined()) part.y = optim::shard_batch(whole.y, whole.y.dim() == 3 ? 1 : 0, s);
  if (!whole.classes.empty()) {
    const std::size_t steps = whole.classes.size() / batch;
    for (std::size_t t = 0; t < steps; ++t)
      part.classes.insert(part.classes.end(), whole.classes.begin() + std::ptrdiff_t(t * batch + s.begin),
                          whole.classes.begin() + std::ptrdiff_t(t * batch + s.end));
  }
  return part;
}

inline std::uint64_t batch_seed(std::uint64_t seed, std::uint64_t step) {
  return seed * 0x9E3779B97F4A7C15ULL + step * 0xBF58476D1CE4E5B9ULL + 1;
}

// Sine: x_t = sin(ω t + φ), target x_{t+1}; ω ~ U(0.1, 0.4) and φ ~ U(0, 2π)
// per sequence, so the model must infer the frequency from what it has seen.
template <class T>
Batch<T> sine_batch(std::size_t length, std::size_t batch, std::uint64_t seed, std::uint64_t step) {
  Generator gen(batch_seed(seed, step));
  xt::xarray<T> x = xt::zeros<T>({length, batch, std::size_t{1}}), y = x;
  for (std::size_t b = 0; b < batch; ++b) {
    const double omega = 0.1 + 0.3 * gen.next_unit(), phi = 2 * std::numbers::pi * gen.next_unit();
    for (std::size_t t = 0; t < length; ++t) {
      x(t, b, 0) = static_cast<T>(std::sin(omega * double(t) + phi));
      y(t, b, 0) = static_cast<T>(std::sin(omega * double(t + 1) + phi));
    }
  }
  return {Tensor<T>(std::move(x)), Tensor<T>(std::move(y)), {}};  // moved: a copy would double the peak at long T
}

// The adding problem (Hochreiter & Schmidhuber 1997): x_t = (u_t, m_t), u_t ~ U(0, 1),
// m_t = 1 at two random steps (one in each half) and 0 elsewhere; the target,
// read at the last step only, is the sum of the two marked u_t. Predicting the
// mean (1.0) gives MSE ≈ 1/6; solving it gives ≈ 0.
template <class T>
Batch<T> adding_batch(std::size_t length, std::size_t batch, std::uint64_t seed, std::uint64_t step) {
  Generator gen(batch_seed(seed, step));
  xt::xarray<T> x = xt::zeros<T>({length, batch, std::size_t{2}});
  xt::xarray<T> y = xt::zeros<T>({batch, std::size_t{1}});
  const std::size_t half = length / 2;
  for (std::size_t b = 0; b < batch; ++b) {
    for (std::size_t t = 0; t < length; ++t) x(t, b, 0) = static_cast<T>(gen.next_unit());
    const auto first = static_cast<std::size_t>(gen.next_unit() * double(half));
    const auto second = half + static_cast<std::size_t>(gen.next_unit() * double(length - half));
    x(first, b, 1) = 1;
    x(second, b, 1) = 1;
    y(b, 0) = x(first, b, 0) + x(second, b, 0);
  }
  return {Tensor<T>(std::move(x)), Tensor<T>(std::move(y)), {}};  // moved: a copy would double the peak at long T
}

// ---- next-character prediction -------------------------------------------------
// A text is a vocabulary (its distinct bytes, sorted) and the text as indices
// into it; the model reads x_t one-hot [V] and predicts the class of x_{t+1}.
struct CharCorpus {
  std::string vocabulary;            // the distinct characters, sorted
  std::vector<std::size_t> indices;  // the text, each character's place in `vocabulary`
};
CharCorpus make_char_corpus(const std::string& text);

// The embedded Reber grammar (Hochreiter & Schmidhuber 1997): B, then T or P,
// a Reber string, the same T or P again, then E. Remembering the second
// symbol over the whole inner string is the long-range part. Reber strings
// follow the automaton
//   0 -B-> 1;  1 -T-> 2, 1 -P-> 3;  2 -S-> 2, 2 -X-> 4;  3 -T-> 3, 3 -V-> 5;
//   4 -X-> 3, 4 -S-> 6;  5 -P-> 4, 5 -V-> 6;  6 -E-> end
// each branch taken with probability 1/2.
std::string embedded_reber_string(Generator& generator);
// `count` strings from Generator(seed), one after another.
std::string embedded_reber_text(std::uint64_t seed, std::size_t count);
// True when `text` is one embedded Reber string (for checking generated text).
bool is_embedded_reber(const std::string& text);

// A text file's contents; errors name the flag, the file and the problem (missing, empty).
std::string read_text_file(const std::string& path, const std::string& flag);

// A numeric CSV file: one value or one comma-separated row per line, every row
// as wide; blank lines and lines starting with '#' are skipped, and a first
// line that is not numbers is read as a header. Errors name the file and the
// line: a field that is not a number, NaN or Inf, a row of another width, a
// line longer than 16 MiB or REWIND_CSV_MAX_LINE_BYTES (a hostile 1 GB line is
// refused after reading that much, not held whole).
struct NumericTable {
  std::vector<double> values;  // row-major [rows, columns]
  std::size_t rows = 0, columns = 0;
};
NumericTable read_numeric_csv(const std::string& path, const std::string& flag);

// B windows of T + 1 consecutive positions, each starting at a uniform
// position drawn from Generator(batch_seed(seed, step)).
std::vector<std::size_t> window_starts(std::size_t length, std::size_t window, std::size_t batch,
                                       std::uint64_t seed, std::uint64_t step);

// x [T, B, V] one-hot of characters t, class targets the characters t + 1 (t-major).
template <class T>
Batch<T> char_batch(const CharCorpus& corpus, std::size_t length, std::size_t batch, std::uint64_t seed,
                    std::uint64_t step) {
  const std::size_t vocabulary = corpus.vocabulary.size();
  xt::xarray<T> x = xt::zeros<T>({length, batch, vocabulary});
  std::vector<std::int64_t> classes(length * batch);
  const auto starts = window_starts(corpus.indices.size(), length + 1, batch, seed, step);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < length; ++t) {
      x(t, b, corpus.indices[starts[b] + t]) = 1;
      classes[t * batch + b] = static_cast<std::int64_t>(corpus.indices[starts[b] + t + 1]);
    }
  return {Tensor<T>(x), Tensor<T>(), classes};
}

// x [T, B, F] rows t of the table, y [T, B, F] rows t + 1.
template <class T>
Batch<T> series_batch(const NumericTable& table, std::size_t length, std::size_t batch, std::uint64_t seed,
                      std::uint64_t step) {
  const std::size_t columns = table.columns;
  xt::xarray<T> x = xt::zeros<T>({length, batch, columns}), y = x;
  const auto starts = window_starts(table.rows, length + 1, batch, seed, step);
  for (std::size_t b = 0; b < batch; ++b)
    for (std::size_t t = 0; t < length; ++t)
      for (std::size_t f = 0; f < columns; ++f) {
        x(t, b, f) = static_cast<T>(table.values[(starts[b] + t) * columns + f]);
        y(t, b, f) = static_cast<T>(table.values[(starts[b] + t + 1) * columns + f]);
      }
  return {Tensor<T>(std::move(x)), Tensor<T>(std::move(y)), {}};  // moved: a copy would double the peak at long T
}

}  // namespace rwd::app
