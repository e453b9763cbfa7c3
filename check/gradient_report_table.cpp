// GradientReport as text: a table of the parameters, then one of dL/dh_t (and
// an LSTM's dL/dc_t) per layer in the order backward visits the steps, long
// runs of passing steps elided.
#include "gradient_report.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>

namespace rwd::nn {

namespace {

// max|diff|, max rel, where the worst element is, the two values there, and the verdict.
void write_numbers(std::ostream& out, const GradientDifference& d) {
  out << std::scientific << std::setprecision(3) << std::setw(12) << d.max_abs << std::setw(12) << d.max_rel
      << "  " << std::left << std::setw(14) << format_shape(Shape(d.worst.begin(), d.worst.end())) << std::right << std::setprecision(6)
      << std::setw(15) << d.tape << std::setw(15) << d.reference << std::defaultfloat << "  "
      << (d.passed ? "ok" : "FAIL") << "\n";
}

void write_parameter_rows(std::ostream& out, const std::vector<GradientDifference>& parameters) {
  out << "  " << std::left << std::setw(20) << "tensor" << std::setw(15) << "shape" << std::right << std::setw(12)
      << "max|diff|" << std::setw(12) << "max rel" << "  " << std::left << std::setw(14) << "worst at" << std::right
      << std::setw(15) << "tape" << std::setw(15) << "reference" << "  result\n";
  for (const auto& d : parameters) {
    out << "  " << std::left << std::setw(20) << d.name << std::setw(15) << format_shape(d.shape) << std::right;
    write_numbers(out, d);
  }
}

std::string step_header() {
  std::ostringstream head;
  head << "  " << std::setw(5) << "layer" << std::setw(7) << "step" << std::setw(13) << "|tape|" << std::setw(13)
       << "|reference|" << std::setw(12) << "max|diff|" << std::setw(12) << "max rel" << "  " << std::left
       << std::setw(14) << "worst [b, j]" << std::right << std::setw(15) << "tape" << std::setw(15) << "reference"
       << "  result\n";
  return head.str();
}

// The (state, layer) pairs among the steps: h before c, the top layer first.
std::vector<std::pair<char, std::size_t>> step_groups(const std::vector<StepDifference>& steps) {
  std::vector<std::pair<char, std::size_t>> groups;
  for (const auto& s : steps)
    if (std::find(groups.begin(), groups.end(), std::pair(s.state, s.layer)) == groups.end())
      groups.emplace_back(s.state, s.layer);
  std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first == 'h' : a.second > b.second;
  });
  return groups;
}

// Which rows are shown: all of at most max_rows; else the first and last three
// and every failing row with its neighbours.
std::vector<bool> shown_rows(const std::vector<const StepDifference*>& rows, std::size_t max_rows) {
  const std::size_t n = rows.size();
  std::vector<bool> shown(n, n <= max_rows);
  for (std::size_t i = 0; i < n; ++i) {
    if (i < 3 || i + 3 >= n) shown[i] = true;
    if (!rows[i]->difference.passed)
      for (std::size_t j = i ? i - 1 : 0; j <= std::min(n - 1, i + 1); ++j) shown[j] = true;
  }
  return shown;
}

// One layer's rows of one state, t = T..1.
void write_step_group(std::ostream& out, const std::vector<StepDifference>& steps, char state, std::size_t layer,
                      std::size_t max_rows) {
  std::vector<const StepDifference*> rows;
  for (const auto& s : steps)
    if (s.layer == layer && s.state == state) rows.push_back(&s);
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->step > b->step; });
  const std::size_t n = rows.size();
  const std::vector<bool> shown = shown_rows(rows, max_rows);
  for (std::size_t i = 0; i < n;) {
    if (!shown[i]) {
      std::size_t j = i;
      while (j < n && !shown[j]) ++j;
      out << "  " << std::setw(5) << layer << "    ... steps " << rows[j - 1]->step << ".." << rows[i]->step
          << " (" << (j - i) << " steps) all ok\n";
      i = j;
      continue;
    }
    const auto& d = rows[i]->difference;
    out << "  " << std::setw(5) << layer << std::setw(7) << rows[i]->step << std::scientific
        << std::setprecision(4) << std::setw(13) << d.tape_norm << std::setw(13) << d.reference_norm
        << std::defaultfloat;
    write_numbers(out, d);
    ++i;
  }
}

// Rows by state (h, then c) and layer, top layer first, t = T..1.
void write_step_rows(std::ostream& out, const std::vector<StepDifference>& steps, std::size_t max_rows) {
  const std::string header = step_header();
  char shown_state = 0;
  for (auto [state, layer] : step_groups(steps)) {
    if (state != shown_state)
      out << "  dL/d" << state << "_t per step, in the order backward visits them:\n" << header;
    shown_state = state;
    write_step_group(out, steps, state, layer, max_rows);
  }
}

}  // namespace

std::string GradientReport::to_string(std::size_t max_step_rows) const {
  std::ostringstream out;
  out << "gradient check, tape vs hand-derived BPTT: " << (passed() ? "PASSED" : "FAILED") << " (rtol "
      << tolerance.rtol << ", atol " << tolerance.atol << ")\n";
  if (!parameters.empty()) write_parameter_rows(out, parameters);
  if (!steps.empty()) write_step_rows(out, steps, max_step_rows);
  if (auto first = first_divergence())
    out << "  the backward pass first goes wrong at layer " << first->layer << ", step " << first->step
        << " (dL/d" << first->state << "_" << first->step << ")\n";
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const GradientReport& report) { return out << report.to_string(); }

}  // namespace rwd::nn
