// Checking a model's tape gradients against the hand-derived BPTT reference
// (bptt/elman_bptt.hpp): one row per parameter, and one per timestep for dL/dh_t, so
// a wrong gradient is located at the step where the backward pass first goes
// wrong (an error at step t spreads to every earlier step, never to later ones).
//
//   // the tape: parameters, and each h_t with retain_grad() before backward
//   rwd::nn::TapeGradients<double> tape{model.named_parameters(), {hs}, h0, x};
//   auto report = rwd::nn::check_elman_gradients(tape, rwd::nn::ElmanActivation::tanh, dL_do);
//   std::cout << report;   // a table; report.passed(), report.first_divergence()
//
// For nn::RNN itself, one call does all of it (check_rnn_gradients, below).
//
// Parameter names follow torch.nn.RNN (the last dotted component counts, so
// "rnn.weight_ih_l0" works): weight_ih_l{n} ↔ U of layer n, weight_hh_l{n} ↔ W,
// bias_ih_l{n} and bias_hh_l{n} ↔ b (the reference's b is their sum, so both
// gradients equal dL/db); a readout is "weight"/"bias" (a Linear head) ↔ V, c.
// The notes' names U, W, b (one layer) and V, c are accepted too.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xtensor/xarray.hpp>

#include "../autograd/tensor.hpp"
#include "../autograd/tolerance.hpp"
#include "../bptt/elman_bptt.hpp"
#include "../nn/recurrent_layers.hpp"

namespace rwd::nn {

// An element passes when |tape - reference| <= atol + rtol |reference| (rwd::Tolerance).
// double: rtol 1e-9, atol 1e-12 (the two sides differ only by summation order);
// float: rtol 1e-3, atol 1e-5.
template <class T>
Tolerance default_gradient_tolerance();

struct GradientDifference {
  std::string name;
  Shape shape;
  double max_abs = 0;  // max |tape - reference|
  double max_rel = 0;  // max relative_error(tape, reference): |tape - reference| / max(|tape|, |reference|)
  // The element furthest outside the tolerance (or, when all pass, closest to
  // its edge), as an index into `shape`, and the two values there.
  std::vector<std::size_t> worst;
  double tape = 0, reference = 0;
  double tape_norm = 0, reference_norm = 0;  // Frobenius norms of the whole tensors
  bool passed = true;
};

struct StepDifference {
  std::size_t layer = 0, step = 0;  // step t = 1..T
  char state = 'h';                 // 'h': dL/dh_t; 'c': an LSTM's dL/dc_t
  GradientDifference difference;    // of dL/dh_t (or dL/dc_t), [B, H]
};

struct GradientReport {
  Tolerance tolerance;
  std::vector<GradientDifference> parameters;  // and h0, x when given
  std::vector<StepDifference> steps;           // by layer, then t = 1..T
  bool passed() const;
  // Where the backward pass first goes wrong: the failing dL/dh_t latest in
  // time (backward visits step T first), the top layer first at equal t.
  std::optional<StepDifference> first_divergence() const;
  // Tables; runs of more than max_step_rows passing steps are elided.
  std::string to_string(std::size_t max_step_rows = 12) const;
};
std::ostream& operator<<(std::ostream& out, const GradientReport& report);

// The building block: one tensor against its reference. Shapes must agree.
template <class T>
GradientDifference compare_gradient(const std::string& name, const xt::xarray<T>& tape,
                                    const xt::xarray<T>& reference, const Tolerance& tolerance);

// The tape side, as plain handles (after backward).
template <class T>
struct TapeGradients {
  std::vector<std::pair<std::string, Tensor<T>>> parameters;  // named as above; .grad() is compared
  std::vector<std::vector<Tensor<T>>> hidden;  // hidden[l][t-1] = layer l's h_t (retain_grad()); may be empty
  Tensor<T> h0;  // optional leaf: [B, H] or [L, B, H] (torch's layout)
  Tensor<T> x;   // optional leaf: [T, B, I]
  std::vector<std::vector<Tensor<T>>> cell = {};  // LSTM: cell[l][t-1] = layer l's c_t (retain_grad()); may be empty
  Tensor<T> c0 = Tensor<T>();                     // LSTM: optional leaf, like h0
};

// Compares the tape's gradients with a reference computed elsewhere. A tape
// gradient that is undefined (never reached) counts as zeros.
template <class T>
GradientReport compare_with_reference(const TapeGradients<T>& tape, const bptt::ElmanGradients<T>& reference,
                                      const Tolerance& tolerance = default_gradient_tolerance<T>());

// The reference model holding the values of these parameters (names as above;
// a layer without biases gets b = 0). Throws on an unknown name or a missing layer.
template <class T>
bptt::ElmanModel<T> elman_model_from_parameters(const std::vector<std::pair<std::string, Tensor<T>>>& parameters,
                                          bptt::ElmanActivation activation);

// One call: builds the reference from the tape's own parameter values, x
// (required) and h0 (zeros if not given), runs it seeded with dL/do (for MSE:
// bptt::elman_mse_loss(o, y).grad, or the output tensor's retained .grad()) and compares.
template <class T>
GradientReport check_elman_gradients(const TapeGradients<T>& tape, bptt::ElmanActivation activation,
                                     const xt::xarray<T>& dL_do, const bptt::BpttOptions& options = {},
                                     const Tolerance& tolerance = default_gradient_tolerance<T>());

// nn::RNN against the hand BPTT, per parameter and per step.
//   1. rnn.zero_grad(), then loss(rnn.forward(x, h0).output).backward(): the
//      RNN's .grad()s are left holding this loss's gradients; every parameter,
//      h0 and x (copied into fresh leaves) is compared with the reference,
//      which is seeded with the tape's own dL/doutput, so `loss` may be any
//      function of the output (a Linear head and MSE, say);
//   2. the same unroll again (nn::Recurrent with the RNN's own cells, each
//      wrapped to keep the h_t it returns), and dL/dh_t of every layer and
//      step, taken with rwd::grad (nothing accumulates), is compared too.
// Covers what the Elman reference models: unidirectional, time-major, batched,
// without dropout in training mode (anything else throws rwd::Error).
template <class T>
GradientReport check_rnn_gradients(RNN<T>& rnn, const Tensor<T>& x, const Tensor<T>& h0,
                                   const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                   const Tolerance& tolerance = default_gradient_tolerance<T>());

namespace detail {
// Shared by the reports (this file's and gated_gradient_report.hpp's).
// "rnn.weight_ih_l2" -> ("weight_ih_l", 2); names without a layer suffix -> (name, none)
struct ParsedName {
  std::string base;
  std::optional<std::size_t> layer;
};
ParsedName parse_parameter_name(const std::string& dotted);
// .grad() of t, or zeros of its shape when nothing reached it
template <class T>
xt::xarray<T> grad_or_zeros(const Tensor<T>& t);
// One row per layer and step: tape[l][t-1] ([B, H]) against reference[l] ([T, B, H]).
template <class T>
void add_step_rows(const char* op, GradientReport& report, const std::vector<std::vector<xt::xarray<T>>>& tape,
                   const std::vector<const xt::xarray<T>*>& reference, char state);
// [L, B, H] -> one [B, H] per layer; [B, H] -> one; undefined -> none (zeros)
template <class T>
std::vector<xt::xarray<T>> split_state_layers(const char* op, const Tensor<T>& h0);
// What the hand references model, else rwd::Error: a unidirectional,
// time-major layer without active dropout, x [T, B, I], a loss.
template <class T>
void require_reference_layout(const char* op, const Recurrent<T>& layer, const Tensor<T>& x, bool has_loss);
}  // namespace detail

}  // namespace rwd::nn
