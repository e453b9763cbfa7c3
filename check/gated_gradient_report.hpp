// nn::LSTM and nn::GRU against the hand-derived BPTT of bptt/gated_bptt.hpp:
// one row per parameter (and h0, c0, x), one per layer and step for dL/dh_t
// and, for the LSTM, dL/dc_t; a wrong backward is located at the step where it
// starts (GradientReport::first_divergence). The report type and tolerances
// are gradient_report.hpp's.
//
//   auto report = rwd::nn::check_lstm_gradients(lstm, x, h0, c0, loss);   // loss: output -> scalar
//   std::cout << report;   // report.passed()
//
// Parameter names follow torch.nn.LSTM/GRU (the last dotted component counts):
// weight_ih_l{n}, weight_hh_l{n}, bias_ih_l{n}, bias_hh_l{n}.
#pragma once

#include "../bptt/gated_bptt.hpp"
#include "gradient_report.hpp"

namespace rwd::nn {

// The reference model holding these parameters' values (no biases: zeros).
template <class T>
bptt::GatedModel<T> gated_model_from_parameters(bptt::GatedKind kind,
                                                const std::vector<std::pair<std::string, Tensor<T>>>& parameters);

// The tape's gradients (after backward) against a reference computed elsewhere.
template <class T>
GradientReport compare_with_gated_reference(const TapeGradients<T>& tape, const bptt::GatedGradients<T>& reference,
                                            const Tolerance& tolerance = default_gradient_tolerance<T>());

// Builds the reference from the tape's parameter values, x (required), h0 and
// c0 (zeros if not given), seeds it with dL/do and compares.
template <class T>
GradientReport check_gated_gradients(const TapeGradients<T>& tape, bptt::GatedKind kind, const xt::xarray<T>& dL_do,
                                     const bptt::BpttOptions& options = {},
                                     const Tolerance& tolerance = default_gradient_tolerance<T>());

// The layer itself, on the path its options choose (RecurrentOptions::fused
// or op by op): zero_grad(), loss(forward(x, h0, c0).output).backward(); its
// parameters', h0's, c0's and x's gradients are compared with the reference
// seeded with the tape's dL/doutput, then dL/dh_t (and dL/dc_t) of every layer
// and step (check/step_gradients.hpp) too. Unidirectional, time-major, no active
// dropout (anything else throws rwd::Error). h0, c0: [L, B, H] or undefined.
template <class T>
GradientReport check_lstm_gradients(LSTM<T>& lstm, const Tensor<T>& x, const Tensor<T>& h0, const Tensor<T>& c0,
                                    const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                    const Tolerance& tolerance = default_gradient_tolerance<T>());
template <class T>
GradientReport check_gru_gradients(GRU<T>& gru, const Tensor<T>& x, const Tensor<T>& h0,
                                   const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                                   const Tolerance& tolerance = default_gradient_tolerance<T>());

}  // namespace rwd::nn
