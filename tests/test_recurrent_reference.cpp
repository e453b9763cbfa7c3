// Forward values of the cells and layers against PyTorch 1.13, from
// tests/data/recurrent_reference.txt, written by the committed script
// tests/data/make_recurrent_reference.py (torch's own modules, default init,
// double precision; the file format is described there). Each case's
// parameters are loaded into the Rewind module by their torch names.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>

#include <xtensor/xmath.hpp>

#include <rewind/rewind.hpp>

using namespace rwd;

namespace {

struct ReferenceCase {
  std::string name, module, nonlinearity;
  std::size_t input_size = 0, hidden_size = 0, num_layers = 1;
  bool bidirectional = false, batch_first = false, bias = true;
  std::vector<std::pair<std::string, xt::xarray<double>>> parameters;  // torch's named_parameters() order
  std::map<std::string, xt::xarray<double>> inputs, expected;
  std::vector<std::size_t> lengths;
};

xt::xarray<double> read_array(std::istringstream& line) {
  std::size_t rank = 0;
  line >> rank;
  std::vector<std::size_t> shape(rank);
  for (auto& d : shape) line >> d;
  xt::xarray<double> a = xt::xarray<double>::from_shape(shape);
  for (auto& v : a) line >> v;
  if (line.fail()) throw std::runtime_error("recurrent_reference.txt: malformed tensor line");
  return a;
}

const std::vector<ReferenceCase>& reference_cases() {
  static const std::vector<ReferenceCase> cases = [] {
    std::ifstream file(std::string(REWIND_TEST_DATA) + "/recurrent_reference.txt");
    if (!file) throw std::runtime_error("cannot open tests/data/recurrent_reference.txt");
    std::vector<ReferenceCase> out;
    std::string text;
    while (std::getline(file, text)) {
      std::istringstream line(text);
      std::string kind;
      line >> kind;
      if (kind == "case") {
        ReferenceCase c;
        int bidirectional = 0, batch_first = 0, bias = 1;
        line >> c.name >> c.module >> c.input_size >> c.hidden_size >> c.num_layers >> bidirectional >> batch_first >>
            bias >> c.nonlinearity;
        c.bidirectional = bidirectional, c.batch_first = batch_first, c.bias = bias;
        out.push_back(std::move(c));
      } else if (kind == "param" || kind == "input" || kind == "expect") {
        std::string name;
        line >> name;
        auto value = read_array(line);
        if (kind == "param") out.back().parameters.emplace_back(name, std::move(value));
        else if (kind == "input") out.back().inputs[name] = std::move(value);
        else out.back().expected[name] = std::move(value);
      } else if (kind == "lengths") {
        std::size_t n = 0;
        line >> n;
        out.back().lengths.resize(n);
        for (auto& v : out.back().lengths) line >> v;
      }
    }
    return out;
  }();
  return cases;
}

template <class T>
Tensor<T> as(const xt::xarray<double>& a) {
  return Tensor<T>(xt::xarray<T>(xt::cast<T>(a)));
}

template <class T>
Tensor<T> input_or_undefined(const ReferenceCase& c, const std::string& name) {
  auto it = c.inputs.find(name);
  return it == c.inputs.end() ? Tensor<T>() : as<T>(it->second);
}

// A fresh Rewind module of the case's kind, with torch's values loaded in place by name.
template <class T>
std::vector<std::pair<std::string, Tensor<T>>> load(const nn::Module<T>& module, const ReferenceCase& c) {
  auto named = module.named_parameters();
  REQUIRE(named.size() == c.parameters.size());
  for (std::size_t i = 0; i < named.size(); ++i) {
    CHECK(named[i].first == c.parameters[i].first);  // same names in the same order
    REQUIRE(named[i].second.shape() == Shape(c.parameters[i].second.shape().begin(), c.parameters[i].second.shape().end()));
    named[i].second.mutable_value() = xt::cast<T>(c.parameters[i].second);
  }
  return named;
}

template <class T>
void check_close(const std::string& what, const Tensor<T>& got, const xt::xarray<double>& expected) {
  CAPTURE(what);
  REQUIRE(got.shape() == Shape(expected.shape().begin(), expected.shape().end()));
  const double tolerance = std::is_same_v<T, double> ? 1e-12 : 2e-6;
  const double error = xt::amax(xt::abs(xt::cast<double>(got.value()) - expected))();
  CHECK(error <= tolerance);
}

template <class T>
void run_case(const ReferenceCase& c) {
  CAPTURE(c.name);
  const auto nonlinearity = c.nonlinearity == "relu" ? nn::Nonlinearity::relu : nn::Nonlinearity::tanh;
  const Tensor<T> x = as<T>(c.inputs.at("x"));
  const Tensor<T> h0 = input_or_undefined<T>(c, "h0"), c0 = input_or_undefined<T>(c, "c0");
  if (c.module == "RNNCell" || c.module == "LSTMCell" || c.module == "GRUCell") {
    if (c.module == "LSTMCell") {
      nn::LSTMCell<T> cell(c.input_size, c.hidden_size, c.bias);
      load(cell, c);
      const auto next = cell.forward(x, {h0, c0});
      check_close("h", next.h, c.expected.at("h"));
      check_close("c", next.c, c.expected.at("c"));
    } else if (c.module == "GRUCell") {
      nn::GRUCell<T> cell(c.input_size, c.hidden_size, c.bias);
      load(cell, c);
      check_close("h", cell.forward(x, h0), c.expected.at("h"));
    } else {
      nn::RNNCell<T> cell(c.input_size, c.hidden_size, c.bias, nonlinearity);
      load(cell, c);
      check_close("h", cell.forward(x, h0), c.expected.at("h"));
    }
    return;
  }
  const nn::RecurrentOptions options{.input_size = c.input_size, .hidden_size = c.hidden_size,
                                     .num_layers = c.num_layers, .nonlinearity = nonlinearity, .bias = c.bias,
                                     .batch_first = c.batch_first, .bidirectional = c.bidirectional};
  if (c.module == "LSTM") {
    nn::LSTM<T> lstm(options);
    load(lstm, c);
    const auto result = lstm.forward(x, h0, c0, c.lengths);
    check_close("output", result.output, c.expected.at("output"));
    check_close("h_n", result.h_n, c.expected.at("h_n"));
    check_close("c_n", result.c_n, c.expected.at("c_n"));
  } else if (c.module == "GRU") {
    nn::GRU<T> gru(options);
    load(gru, c);
    const auto result = gru.forward(x, h0, c.lengths);
    check_close("output", result.output, c.expected.at("output"));
    check_close("h_n", result.h_n, c.expected.at("h_n"));
  } else {
    REQUIRE(c.module == "RNN");
    nn::RNN<T> rnn(options);
    load(rnn, c);
    const auto result = rnn.forward(x, h0, c.lengths);
    check_close("output", result.output, c.expected.at("output"));
    check_close("h_n", result.h_n, c.expected.at("h_n"));
  }
}

}  // namespace

TEST_SUITE("recurrent_reference") {
  TEST_CASE_TEMPLATE("cells and layers match PyTorch's outputs on torch's weights", T, double, float) {
    const auto& cases = reference_cases();
    REQUIRE(cases.size() == 11);
    for (const auto& c : cases) run_case<T>(c);
  }

  TEST_CASE("a 2-layer bidirectional LSTM's named_parameters() equal torch's, names, shapes and order") {
    const auto& cases = reference_cases();
    const auto it = std::find_if(cases.begin(), cases.end(), [](const auto& c) { return c.name == "lstm_2layer_bidirectional"; });
    REQUIRE(it != cases.end());
    nn::LSTM<double> lstm({.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true});
    const auto named = lstm.named_parameters();
    REQUIRE(named.size() == it->parameters.size());
    for (std::size_t i = 0; i < named.size(); ++i) {
      CHECK(named[i].first == it->parameters[i].first);
      CHECK(named[i].second.shape() ==
            Shape(it->parameters[i].second.shape().begin(), it->parameters[i].second.shape().end()));
    }
  }
}
