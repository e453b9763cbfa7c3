#include "tasks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

namespace rwd::app {

CharCorpus make_char_corpus(const std::string& text) {
  const std::set<char> distinct(text.begin(), text.end());
  CharCorpus corpus{std::string(distinct.begin(), distinct.end()), {}};
  corpus.indices.reserve(text.size());
  for (const char c : text) corpus.indices.push_back(corpus.vocabulary.find(c));
  return corpus;
}

namespace {

// One Reber string: the automaton in tasks.hpp from state 0 to the end.
std::string reber_string(Generator& generator) {
  // transitions[state] = {{symbol, next}, {symbol, next}}; state 6 ends with E.
  static constexpr struct {
    char symbol;
    int next;
  } transitions[6][2] = {{{'B', 1}, {'B', 1}}, {{'T', 2}, {'P', 3}}, {{'S', 2}, {'X', 4}},
                         {{'T', 3}, {'V', 5}}, {{'X', 3}, {'S', 6}}, {{'P', 4}, {'V', 6}}};
  std::string text;
  int state = 0;
  while (state != 6) {
    const auto& edge = transitions[state][generator.next_unit() < 0.5 ? 0 : 1];
    text += edge.symbol;
    state = edge.next;
  }
  return text + 'E';
}

}  // namespace

std::string embedded_reber_string(Generator& generator) {
  const char branch = generator.next_unit() < 0.5 ? 'T' : 'P';
  return std::string("B") + branch + reber_string(generator) + branch + 'E';
}

std::string embedded_reber_text(std::uint64_t seed, std::size_t count) {
  Generator generator(seed);
  std::string text;
  for (std::size_t k = 0; k < count; ++k) text += embedded_reber_string(generator);
  return text;
}

bool is_embedded_reber(const std::string& text) {
  if (text.size() < 6 || text[0] != 'B' || text.back() != 'E' || (text[1] != 'T' && text[1] != 'P') ||
      text[text.size() - 2] != text[1])
    return false;
  // Walk the inner Reber string through the automaton.
  const std::string inner = text.substr(2, text.size() - 4);
  int state = 0;
  for (const char c : inner) {
    switch (state) {
      case 0: state = c == 'B' ? 1 : -1; break;
      case 1: state = c == 'T' ? 2 : c == 'P' ? 3 : -1; break;
      case 2: state = c == 'S' ? 2 : c == 'X' ? 4 : -1; break;
      case 3: state = c == 'T' ? 3 : c == 'V' ? 5 : -1; break;
      case 4: state = c == 'X' ? 3 : c == 'S' ? 6 : -1; break;
      case 5: state = c == 'P' ? 4 : c == 'V' ? 6 : -1; break;
      case 6: state = c == 'E' ? 7 : -1; break;
      default: return false;
    }
    if (state < 0) return false;
  }
  return state == 7;
}

std::string read_text_file(const std::string& path, const std::string& flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(flag + " '" + path + "': cannot open the file (missing or unreadable)");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(flag + " '" + path + "': read error");
  if (text.empty()) throw Error(flag + " '" + path + "': the file is empty");
  return text;
}

namespace {

// The fields of one CSV line as numbers into `row`; false (and the field in
// `bad_field`) when a field is not a number. "nan" and "inf" parse: the caller refuses them.
bool parse_row(const std::string& line, std::vector<double>& row, std::string& bad_field) {
  row.clear();
  std::stringstream fields(line);
  std::string field;
  while (std::getline(fields, field, ',')) {
    const auto first = field.find_first_not_of(" \t\r"), last = field.find_last_not_of(" \t\r");
    field = first == std::string::npos ? "" : field.substr(first, last - first + 1);
    char* end = nullptr;
    const double value = std::strtod(field.c_str(), &end);
    if (field.empty() || end != field.c_str() + field.size()) {
      bad_field = field;
      return false;
    }
    row.push_back(value);
  }
  if (!line.empty() && line.back() == ',') {  // a trailing comma: an empty last field
    bad_field = "";
    return false;
  }
  return true;
}

// std::getline that stops with an Error once the line passes `max` bytes.
bool read_line(std::istream& in, std::string& line, std::size_t max, const std::string& where) {
  line.clear();
  std::streambuf& buffer = *in.rdbuf();
  for (;;) {
    const int c = buffer.sbumpc();
    if (c == std::char_traits<char>::eof()) return !line.empty();
    if (c == '\n') return true;
    if (line.size() == max)
      throw Error(where + " is longer than " + std::to_string(max) +
                  " bytes (the limit; REWIND_CSV_MAX_LINE_BYTES raises it)");
    line += static_cast<char>(c);
  }
}

// The longest CSV line read: 16 MiB (a row of about a million numbers), or
// the byte count in REWIND_CSV_MAX_LINE_BYTES. A hostile 1 GB line is refused
// after reading that much, not held whole.
std::size_t csv_max_line_bytes() {
  if (const char* text = std::getenv("REWIND_CSV_MAX_LINE_BYTES")) {
    char* end = nullptr;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || value == 0)
      throw Error(std::string("REWIND_CSV_MAX_LINE_BYTES='") + text + "' is not a positive byte count");
    return static_cast<std::size_t>(value);
  }
  return std::size_t{16} << 20;
}

}  // namespace

NumericTable read_numeric_csv(const std::string& path, const std::string& flag) {
  const std::string source = flag + " '" + path + "'";
  const std::size_t max_line = csv_max_line_bytes();
  std::ifstream in(path);
  if (!in) throw Error(source + ": cannot open the file (missing or unreadable)");
  NumericTable table;
  std::string line, bad_field;
  std::vector<double> row;
  for (std::size_t number = 1; read_line(in, line, max_line, source + " line " + std::to_string(number)); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[line.find_first_not_of(" \t")] == '#') continue;
    if (!parse_row(line, row, bad_field)) {
      if (table.rows == 0 && number == 1) continue;  // a header
      throw Error(source + " line " + std::to_string(number) + ": '" + bad_field + "' is not a number");
    }
    for (const double value : row)
      if (!std::isfinite(value))
        throw Error(source + " line " + std::to_string(number) + ": " + (std::isnan(value) ? "NaN" : "Inf") +
                    ", expected finite numbers");
    if (table.rows == 0) table.columns = row.size();
    if (row.size() != table.columns)
      throw Error(source + " line " + std::to_string(number) + ": " + std::to_string(row.size()) +
                  " column(s), expected " + std::to_string(table.columns) + " as on the first row");
    table.values.insert(table.values.end(), row.begin(), row.end());
    ++table.rows;
  }
  if (in.bad()) throw Error(source + ": read error");
  if (table.rows == 0) throw Error(source + ": no numbers in the file");
  return table;
}

std::vector<std::size_t> window_starts(std::size_t length, std::size_t window, std::size_t batch,
                                       std::uint64_t seed, std::uint64_t step) {
  Generator generator(batch_seed(seed, step));
  std::vector<std::size_t> starts(batch);
  const std::size_t choices = length - window + 1;  // callers ensure length >= window
  for (auto& start : starts)
    start = std::min(choices - 1, static_cast<std::size_t>(generator.next_unit() * double(choices)));
  return starts;
}

}  // namespace rwd::app
