// rewind_bench_summary: reads rewind_bench's --benchmark_out JSON and prints the
// summary as Markdown tables: training-step times side by side with the ratios
// tape/hand, ops_loop/hand, torch/tape and the tape's share of the GEMM rate;
// the GEMM reference; tiny-op cost per op; tape memory against the hand BPTT.
//
//   rewind_bench_summary build-bench/bench.json
//
// Rows pair by name: everything before the last '/' is the configuration, the
// last part the method (tape, hand, ops_loop, torch, …). With repetitions the
// median aggregate is used.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;

struct Row {
  double ms = 0;
  std::map<std::string, double> counters;
};

// configuration → method → row; `order` lists the configurations in the order
// their first rows were registered (not run: rows run randomly interleaved).
struct Table {
  std::vector<std::string> order;
  std::map<std::string, std::map<std::string, Row>> rows;
};

double to_ms(double value, const std::string& unit) {
  if (unit == "ns") return value / 1e6;
  if (unit == "us") return value / 1e3;
  if (unit == "s") return value * 1e3;
  return value;
}

// Drops the parts Google Benchmark appends to a name for its run options
// ("/manual_time", "/iterations:1", "/real_time", "/min_time:0.5", …).
std::string strip_options(std::string name) {
  for (;;) {
    const auto cut = name.rfind('/');
    if (cut == std::string::npos) return name;
    const std::string last = name.substr(cut + 1);
    if (last != "manual_time" && last != "real_time" && last.find(':') == std::string::npos) return name;
    name.erase(cut);
  }
}

// Times: CPU time of the benchmark thread with one thread, wall-clock time
// with more (BLAS and libtorch workers are other threads).
Table read(const json& doc) {
  const bool wall = std::stoi(doc.value("context", json::object()).value("threads", "1")) > 1;
  bool has_median = false;
  for (const auto& b : doc.at("benchmarks"))
    if (b.value("aggregate_name", "") == "median") has_median = true;
  Table table;
  std::map<std::string, std::pair<int, int>> registered;  // configuration → its first (family, instance)
  for (const auto& b : doc.at("benchmarks")) {
    if (has_median ? b.value("aggregate_name", "") != "median" : b.value("run_type", "iteration") != "iteration")
      continue;
    if (b.contains("error_occurred") && b["error_occurred"].get<bool>()) continue;
    const std::string name = strip_options(b.value("run_name", b.at("name").get<std::string>()));
    const auto cut = name.rfind('/');
    if (cut == std::string::npos) continue;
    const std::string config = name.substr(0, cut), method = name.substr(cut + 1);
    Row row;
    row.ms = to_ms(b.at("cpu_time").get<double>(), b.value("time_unit", "ns"));
    if (wall || name.rfind("tiny/", 0) == 0)  // manual time for tiny ops
      row.ms = to_ms(b.at("real_time").get<double>(), b.value("time_unit", "ns"));
    for (const auto& [key, value] : b.items())
      if (value.is_number() && key != "cpu_time" && key != "real_time" && key != "iterations" &&
          key != "repetitions" && key != "repetition_index" && key != "threads" && key != "family_index" &&
          key != "per_family_instance_index")
        row.counters[key] = value.get<double>();
    if (!table.rows.count(config)) table.order.push_back(config);
    table.rows[config][method] = row;
    const std::pair<int, int> index{b.value("family_index", 0), b.value("per_family_instance_index", 0)};
    auto [at, fresh] = registered.emplace(config, index);
    if (!fresh) at->second = std::min(at->second, index);
  }
  std::stable_sort(table.order.begin(), table.order.end(),
                   [&](const std::string& a, const std::string& b) { return registered[a] < registered[b]; });
  return table;
}

std::string number(double v, int precision = 3) {
  char buf[64];
  if (v >= 1000)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

// "x" of a / b when both rows exist, else "–".
std::string ratio(const std::map<std::string, Row>& m, const char* a, const char* b) {
  if (!m.count(a) || !m.count(b) || m.at(b).ms <= 0) return "–";
  return number(m.at(a).ms / m.at(b).ms) + "×";
}

std::string ms(const std::map<std::string, Row>& m, const char* method) {
  return m.count(method) ? number(m.at(method).ms) : "–";
}

std::string counter(const std::map<std::string, Row>& m, const char* method, const char* key, int precision = 3) {
  if (!m.count(method) || !m.at(method).counters.count(key)) return "–";
  return number(m.at(method).counters.at(key), precision);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Google Benchmark writes a counter's undefined aggregate (the coefficient of
// variation of a counter that is 0 in every repetition: 0/0) as a bare NaN,
// which is not JSON; such values become null and are skipped.
std::string without_nan(const std::string& text) {
  static const std::regex non_finite(R"((:\s*)-?(NaN|nan|Infinity|inf)\b)");
  return std::regex_replace(text, non_finite, "$1null");
}

// The sequence-wide products (gemm_seq/ rows: a layer's products over all
// T·B rows), by route and thread count, as a share of the same run's
// gemm/f32/M=512 rate (one thread).
void print_sequence_products(const Table& table) {
  double reference = 0;
  if (table.rows.count("gemm/f32/M=512/N=512") && table.rows.at("gemm/f32/M=512/N=512").count("K=512"))
    reference = table.rows.at("gemm/f32/M=512/N=512").at("K=512").counters.at("GFLOPs");
  bool header = false;
  for (const auto& config : table.order) {
    if (!starts_with(config, "gemm_seq/")) continue;
    if (!header)
      std::cout << "\nSequence-wide products (float; by_shape: blas::gemm's own choice), GFLOP/s and % of the "
                   "M=512 GEMM rate:\n\n| product/route | threads | GFLOP/s | % GEMM |\n|---|---|---|---|\n";
    header = true;
    for (const auto& [method, row] : table.rows.at(config)) {
      const double rate = row.counters.count("GFLOPs") ? row.counters.at("GFLOPs") : 0;
      std::cout << "| " << config << " | " << method << " | " << number(rate) << " | "
                << (reference > 0 ? number(100 * rate / reference, 3) : std::string("–")) << " |\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: rewind_bench_summary <benchmark_out.json>\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "rewind_bench_summary: cannot read " << argv[1] << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(without_nan(text.str()));
  } catch (const json::exception& e) {
    std::cerr << "rewind_bench_summary: " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
  const Table table = read(doc);
  const json& context = doc.value("context", json::object());
  std::cout << "Machine: " << context.value("machine", context.value("host_name", "?")) << "; "
            << context.value("date", "") << "; grid: " << context.value("grid", "?")
            << "; threads: " << context.value("threads", "?") << "; OpenBLAS kernel: "
            << context.value("openblas_core", "?") << " (OPENBLAS_CORETYPE=" << context.value("openblas_coretype", "?")
            << ")\n\n";

  std::cout << "GEMM reference (the BLAS and threads of the rows below):\n\n| GEMM | GFLOP/s |\n|---|---|\n";
  for (const auto& config : table.order)
    if (starts_with(config, "gemm/"))
      for (const auto& [method, row] : table.rows.at(config))
        std::cout << "| " << config << "/" << method << " | " << number(row.counters.at("GFLOPs")) << " |\n";

  print_sequence_products(table);

  std::cout << "\nTraining step (forward over T, MSE, backward), ms; ratios < 1 mean the first is faster:\n\n"
            << "| config | tape | hand | ops_loop | torch | torch_ops_loop | tape/hand | ops_loop/hand | torch/tape "
               "| torch_ops_loop/ops_loop | tape GFLOP/s | tape % GEMM | hand % GEMM | ops_loop % GEMM |\n"
            << "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& config : table.order) {
    if (!(starts_with(config, "rnn/") || starts_with(config, "lstm/") || starts_with(config, "gru/") ||
          starts_with(config, "mgu/")))
      continue;
    const auto& m = table.rows.at(config);
    if (!m.count("tape") && !m.count("torch") && !m.count("ops_loop")) continue;
    std::cout << "| " << config << " | " << ms(m, "tape") << " | " << ms(m, "hand") << " | " << ms(m, "ops_loop")
              << " | " << ms(m, "torch") << " | " << ms(m, "torch_ops_loop") << " | " << ratio(m, "tape", "hand")
              << " | " << ratio(m, "ops_loop", "hand") << " | " << ratio(m, "torch", "tape") << " | "
              << ratio(m, "torch_ops_loop", "ops_loop") << " | " << counter(m, "tape", "GFLOPs") << " | "
              << counter(m, "tape", "pct_gemm", 2) << " | " << counter(m, "hand", "pct_gemm", 2) << " | "
              << counter(m, "ops_loop", "pct_gemm", 2) << " |\n";
  }

  std::cout << "\nTiny ops (chain of 1,000 multiplications), µs per op:\n\n"
            << "| tensor | tape fwd | tape bwd | tape total | torch fwd | torch bwd | torch total |\n"
            << "|---|---|---|---|---|---|---|\n";
  for (const auto& config : table.order) {
    if (!starts_with(config, "tiny/")) continue;
    const auto& m = table.rows.at(config);
    std::cout << "| " << config << " | " << counter(m, "tape", "fwd_us_per_op") << " | "
              << counter(m, "tape", "bwd_us_per_op") << " | " << counter(m, "tape", "us_per_op") << " | "
              << counter(m, "torch", "fwd_us_per_op") << " | " << counter(m, "torch", "bwd_us_per_op") << " | "
              << counter(m, "torch", "us_per_op") << " |\n";
  }

  std::cout << "\nMemory of one RNN training step, MB (tape held after forward vs the hand BPTT's activations):\n\n"
            << "| config | tape held | hand activations | ratio | ops_loop held | tape peak | hand peak "
               "| peak ratio |\n"
            << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& config : table.order) {
    const auto& m = table.rows.at(config);
    if (!m.count("memory")) continue;
    auto mb = [&](const char* key) { return number(m.at("memory").counters.at(key) / 1e6); };
    std::cout << "| " << config << " | " << mb("tape_bytes") << " | " << mb("hand_bytes") << " | "
              << counter(m, "memory", "ratio") << "× | " << mb("ops_loop_bytes") << " | " << mb("tape_peak_bytes")
              << " | " << mb("hand_peak_bytes") << " | " << counter(m, "memory", "peak_ratio") << "× |\n";
  }

  std::cout << "\nHeap blocks allocated per training step after warm-up (the benchmark's malloc counter):\n\n"
            << "| config | tape (fused layer) | ops_loop |\n|---|---|---|\n";
  for (const auto& config : table.order) {
    const auto& m = table.rows.at(config);
    if (!m.count("allocs_tape") && !m.count("allocs_ops_loop")) continue;
    std::cout << "| " << config << " | " << counter(m, "allocs_tape", "allocs_per_step") << " | "
              << counter(m, "allocs_ops_loop", "allocs_per_step") << " |\n";
  }

  std::cout << "\nEnd to end: the rewind program training (child process, getrusage):\n\n"
            << "| run | wall s | user s | sys s | sys % of wall | minor page faults |\n|---|---|---|---|---|---|\n";
  for (const auto& config : table.order) {
    if (!starts_with(config, "train/")) continue;
    for (const auto& [method, row] : table.rows.at(config)) {
      auto c = [&](const char* key) { return row.counters.count(key) ? number(row.counters.at(key)) : "–"; };
      std::cout << "| " << config << "/" << method << " | " << c("wall_s") << " | " << c("user_s") << " | "
                << c("sys_s") << " | " << c("sys_pct") << " | " << c("minor_faults") << " |\n";
    }
  }
  return 0;
}
