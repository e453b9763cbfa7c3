// Drawing through the external tools the rewind program uses when they are
// installed -- gnuplot for plots, Graphviz's dot for graphs -- and the atomic
// text writes their inputs and the program's CSVs go through.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <rewind/check/gradient_flow.hpp>

namespace rwd::app {

// Writes `text` to `path` atomically (temporary file + rename, io::write_file_atomically);
// errors start with `who`.
void write_text_atomically(const std::filesystem::path& path, const std::string& text, const std::string& who);

// What a render produced: the SVG, or none and a one-line note saying why and
// how to render it by hand.
struct Rendered {
  std::optional<std::filesystem::path> svg;
  std::string note;
};

// Writes `script` (gnuplot commands that draw an SVG on standard output: a
// `set terminal svg` and no `set output`) to `script_path`, then runs gnuplot
// on it when gnuplot is on PATH, into `svg`.
Rendered plot_with_gnuplot(const std::filesystem::path& script_path, const std::string& script,
                           const std::filesystem::path& svg);

// Renders the DOT file `dot_file` to `svg` with Graphviz's dot when it is on PATH.
Rendered render_dot(const std::filesystem::path& dot_file, const std::filesystem::path& svg);

// Writes flow.to_csv() to out_dir/gradient_flow.csv and plots its top layer's
// forward direction (||dL/dh_t||, ||dL/dc_t|| for an LSTM, and the step
// Jacobian estimates, log scale) to gradient_flow.svg; prints one line naming them.
void write_gradient_flow(const nn::GradientFlow& flow, const std::filesystem::path& out_dir, const std::string& title,
                         const std::string& who);

// The gradient-flow report of `rewind bptt` and `rewind train --diagnose`:
// nn::gradient_flow of `layer` for loss(layer's output) on `input`, measured
// in eval mode (dropout off; the layer's mode is put back after), printed
// (per layer and direction: the norms, the Jacobian estimates, the verdict,
// the rule), then written by write_gradient_flow. Returns the measurement.
template <class T>
nn::GradientFlow report_gradient_flow(nn::Recurrent<T>& layer, const Tensor<T>& input,
                                      const std::function<Tensor<T>(const Tensor<T>& output)>& loss,
                                      const std::filesystem::path& out_dir, const std::string& title,
                                      const std::string& who);

}  // namespace rwd::app
