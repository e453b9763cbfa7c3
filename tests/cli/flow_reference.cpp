// flow_reference: the checker behind tests/cli/diagnose.sh.
//   flow_reference dh WEIGHTS.npz X.npy Y.npy   ||dL/dh_t|| (and ||dL/dc_t||) of every layer and step, from
//                                              the hand-derived BPTT (bptt/gated_bptt.hpp), as CSV rows
//                                              "layer,t,dh_norm,dc_norm", for the LSTM/GRU (unidirectional,
//                                              with biases) + Linear head in WEIGHTS, L = mse(head(h), y)
//                                              with mean reduction -- what `rewind train --input X --target Y
//                                              --diagnose` measures on the tape. Computed in float64 whatever
//                                              the dtype of the weights and data.
//   flow_reference to-float32 IN.npy OUT.npy    a float64 array as float32
// Exits 0 on success, 1 with a message otherwise.
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <rewind/rewind.hpp>

namespace {

using namespace rwd;
using Arr = xt::xarray<double>;

io::NpyArray read_npy(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open");
  const std::vector<char> bytes{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  return io::decode_npy(bytes.data(), bytes.size(), path);
}

Arr as_double(const io::NpyArray& a, const std::string& name) {
  if (a.dtype == io::DType::Float32) return xt::cast<double>(a.as<float>(name));
  return a.as<double>(name);
}

Arr entry(const io::NpzEntries& weights, const std::string& name) {
  const auto it = weights.find(name);
  if (it == weights.end()) throw Error("no entry '" + name + "'");
  return as_double(it->second, name);
}

int dh_norms(const std::string& weights_path, const std::string& x_path, const std::string& y_path) {
  const io::NpzEntries weights = io::read_npz(weights_path);
  if (weights.count("rnn.weight_hh_l0_reverse")) throw Error("bidirectional models are not handled here");
  bptt::GatedModel<double> model;
  const Arr w0 = entry(weights, "rnn.weight_hh_l0");
  const std::size_t H = w0.shape()[1];
  model.kind = w0.shape()[0] == 4 * H ? bptt::GatedKind::lstm : bptt::GatedKind::gru;
  if (w0.shape()[0] != 4 * H && w0.shape()[0] != 3 * H) throw Error("not an LSTM or GRU");
  for (std::size_t l = 0; weights.count("rnn.weight_hh_l" + std::to_string(l)); ++l) {
    const std::string n = std::to_string(l);
    model.layers.push_back({entry(weights, "rnn.weight_ih_l" + n), entry(weights, "rnn.weight_hh_l" + n),
                            entry(weights, "rnn.bias_ih_l" + n), entry(weights, "rnn.bias_hh_l" + n)});
  }
  const Arr x = as_double(read_npy(x_path), x_path), y = as_double(read_npy(y_path), y_path);
  const Arr V = entry(weights, "head.weight"), c = entry(weights, "head.bias");
  const std::size_t T = x.shape()[0], B = x.shape()[1], O = V.shape()[0];
  const auto trace = bptt::gated_forward(model, x);
  // o = h Vᵀ + c; L = mean over T·B·O of (o - y)²; dL/dh = (2 (o - y) / (T·B·O)) V
  Arr dh = xt::zeros<double>({T, B, H});
  for (std::size_t t = 0; t < T; ++t)
    for (std::size_t b = 0; b < B; ++b)
      for (std::size_t k = 0; k < O; ++k) {
        double o = c(k);
        for (std::size_t j = 0; j < H; ++j) o += trace.o(t, b, j) * V(k, j);
        const double g = 2 * (o - y(t, b, k)) / static_cast<double>(T * B * O);
        for (std::size_t j = 0; j < H; ++j) dh(t, b, j) += g * V(k, j);
      }
  const auto grads = bptt::gated_backward(model, x, trace, dh);
  auto norm = [](const Arr& a, std::size_t t) {
    if (a.dimension() != 3) return std::string();  // a GRU has no dc (a default, 0-D array)
    double s = 0;
    for (std::size_t b = 0; b < a.shape()[1]; ++b)
      for (std::size_t j = 0; j < a.shape()[2]; ++j) s += a(t, b, j) * a(t, b, j);
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", std::sqrt(s));
    return std::string(text);
  };
  std::printf("layer,t,dh_norm,dc_norm\n");
  for (std::size_t l = 0; l < grads.layers.size(); ++l)
    for (std::size_t t = 0; t < T; ++t)
      std::printf("%zu,%zu,%s,%s\n", l, t + 1, norm(grads.layers[l].dh, t).c_str(), norm(grads.layers[l].dc, t).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string command = argc > 1 ? argv[1] : "";
    if (command == "dh" && argc == 5) return dh_norms(argv[2], argv[3], argv[4]);
    if (command == "to-float32" && argc == 4) {
      const io::NpyArray in = read_npy(argv[2]);
      const xt::xarray<float> values = xt::cast<float>(in.as<double>(argv[2]));
      io::write_file_atomically(argv[3], io::encode_npy(io::NpyArray(values)), "flow_reference");
      return 0;
    }
    std::fprintf(stderr, "usage: flow_reference dh WEIGHTS.npz X.npy Y.npy | to-float32 IN.npy OUT.npy\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flow_reference: %s\n", e.what());
    return 1;
  }
}
