// The Elman RNN of bptt/elman_bptt.hpp twice over, shared by its tests
// (test_elman_bptt.cpp) and the gradient report's (test_gradient_report.cpp):
// random models and states, and the same RNN built from autograd ops.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <xtensor/xbuilder.hpp>

#include <rewind/rewind.hpp>

namespace elman_test {

using namespace rwd;
using namespace rwd::nn;
using namespace rwd::bptt;

using Arr = xt::xarray<double>;
using Act = ElmanActivation;

inline std::string act_name(Act a) { return a == Act::identity ? "identity" : a == Act::tanh ? "tanh" : "relu"; }

inline Arr random_array(const Shape& shape, Generator& gen, double scale = 1.0) {
  Arr a = randn<double>(shape, gen).value();
  a *= scale;
  return a;
}

// Layers of sizes hidden[0], hidden[1], … over an input of size `input`;
// recurrent weights scaled so 500 steps neither explode nor vanish to nothing.
inline ElmanModel<double> random_model(Generator& gen, std::size_t input, const std::vector<std::size_t>& hidden,
                                std::optional<std::size_t> output, Act act, double recurrent_scale = 0.8) {
  ElmanModel<double> m;
  std::size_t in = input;
  for (auto H : hidden) {
    m.layers.push_back({random_array({H, in}, gen, 1.0 / std::sqrt(double(in))),
                        random_array({H, H}, gen, recurrent_scale / std::sqrt(double(H))),
                        random_array({H}, gen, 0.3), act});
    in = H;
  }
  if (output)
    m.readout = ElmanReadout<double>{random_array({*output, in}, gen, 1.0 / std::sqrt(double(in))),
                                     random_array({*output}, gen, 0.3)};
  return m;
}

inline std::vector<Arr> random_h0(const ElmanModel<double>& m, std::size_t batch, Generator& gen) {
  std::vector<Arr> h0;
  for (const auto& layer : m.layers) h0.push_back(random_array({batch, layer.U.shape()[0]}, gen, 0.5));
  return h0;
}

inline Arr mat11(double v) {
  Arr a = xt::zeros<double>({1, 1});
  a(0, 0) = v;
  return a;
}
inline TensorD activate(Act f, const TensorD& a) {
  switch (f) {
    case Act::tanh: return tanh(a);
    case Act::relu: return relu(a);
    default: return a;
  }
}

// Built from autograd ops only: a_t = x_t Uᵀ + h_{t-1} Wᵀ + b, h_t = act(a_t), o_t = h_t Vᵀ + c.
struct TapeRnn {
  std::vector<TensorD> U, W, b_ih, b_hh;  // b_hh defined when the bias is split as torch's
  TensorD V, c, x;
  std::vector<TensorD> h0;  // one leaf per layer
  TensorD h0_stacked;       // or one [L, B, H] leaf (torch's layout)
  std::vector<std::vector<TensorD>> a, h;  // [layer][t-1], retain_grad()
  TensorD o;

  std::vector<std::pair<std::string, TensorD>> named_parameters() const {
    std::vector<std::pair<std::string, TensorD>> p;
    for (std::size_t l = 0; l < U.size(); ++l) {
      const std::string n = std::to_string(l);
      p.emplace_back("rnn.weight_ih_l" + n, U[l]);
      p.emplace_back("rnn.weight_hh_l" + n, W[l]);
      p.emplace_back("rnn.bias_ih_l" + n, b_ih[l]);
      if (b_hh[l].defined()) p.emplace_back("rnn.bias_hh_l" + n, b_hh[l]);
    }
    if (V.defined()) {
      p.emplace_back("head.weight", V);
      p.emplace_back("head.bias", c);
    }
    return p;
  }
};

// tamper(layer, t, h_{t-1}) may replace the state fed to step t (to plant a bug).
using Tamper = std::function<TensorD(std::size_t, std::size_t, const TensorD&)>;

inline TapeRnn tape_forward(const ElmanModel<double>& m, const Arr& x, const std::vector<Arr>& h0, bool torch_layout = false,
                     const Tamper& tamper = nullptr) {
  TapeRnn r;
  const std::size_t T = x.shape()[0], L = m.layers.size();
  r.x = TensorD(x, true);
  if (torch_layout) {
    r.h0_stacked = TensorD(Arr(xt::stack(xt::xtuple(h0[0], h0[1]))), true);
    REQUIRE(L == 2);
  }
  for (std::size_t l = 0; l < L; ++l) {
    const auto& layer = m.layers[l];
    r.U.emplace_back(layer.U, true);
    r.W.emplace_back(layer.W, true);
    if (torch_layout) {  // b = bias_ih + bias_hh, split unevenly
      r.b_ih.emplace_back(Arr(0.25 * layer.b), true);
      r.b_hh.emplace_back(Arr(0.75 * layer.b), true);
      r.h0.push_back(select(r.h0_stacked, 0, l));
    } else {
      r.b_ih.emplace_back(layer.b, true);
      r.b_hh.emplace_back();
      r.h0.emplace_back(h0[l], true);
    }
    r.a.emplace_back();
    r.h.emplace_back();
    TensorD h_prev = r.h0[l];
    for (std::size_t t = 0; t < T; ++t) {
      const TensorD in = l == 0 ? select(r.x, 0, t) : r.h[l - 1][t];
      if (tamper) h_prev = tamper(l, t + 1, h_prev);
      TensorD a = matmul(in, r.U[l], false, true) + r.b_ih[l] + matmul(h_prev, r.W[l], false, true);
      if (r.b_hh[l].defined()) a = a + r.b_hh[l];
      a.retain_grad();
      TensorD h = activate(layer.activation, a);
      h.retain_grad();
      r.a[l].push_back(a);
      r.h[l].push_back(h);
      h_prev = h;
    }
  }
  std::vector<TensorD> outs;
  if (m.readout) {
    r.V = TensorD(m.readout->V, true);
    r.c = TensorD(m.readout->c, true);
  }
  for (std::size_t t = 0; t < T; ++t)
    outs.push_back(m.readout ? matmul(r.h.back()[t], r.V, false, true) + r.c : r.h.back()[t]);
  r.o = stack(outs, 0);
  return r;
}

}  // namespace elman_test
