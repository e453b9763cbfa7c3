// Gradient-flow diagnostics of any Recurrent layer (RNN, LSTM, GRU, your own
// cell): how the gradient of a loss travels back through time, per layer and
// direction.
//
//   auto flow = rwd::nn::gradient_flow(lstm, x, {}, [&](const TensorD& out) { return loss_of(out); });
//   std::cout << flow;            // per layer: norms, Jacobian estimates, the verdict
//   flow.to_csv();                // one row per layer, direction and step
//
// What is measured, for t = 1..T in time order:
//   * ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖ for an LSTM): Frobenius norms over the batch of
//     the total gradient reaching each state, from one backward of the loss
//     (check/step_gradients.hpp);
//   * ‖∂s_t/∂s_{t-1}‖ for each state tensor s (h; and c for an LSTM), the
//     spectral norm of the step's Jacobian with the other states held fixed,
//     estimated by power iteration on JᵀJ: J v by central finite differences
//     of the cell's step (ε = 1e-6 in double, 1e-3 in float, relative to ‖s‖),
//     Jᵀ u exactly, by a vector-Jacobian product on the tape. The batch's
//     sequences are independent, so this is the largest over the batch. For
//     the reverse direction "t-1" is the step before in its own order, t+1.
//
// The verdict, per layer and direction (the rule; T >= 2):
//   γ = the geometric mean over steps 2..T of each step's largest Jacobian
//       norm (over its state tensors), and bound = γ^(T-1): an upper bound on
//       how much a gradient can grow while crossing the whole sequence;
//   growth = max_t ‖∂L/∂h_t‖ / ‖∂L/∂h_last‖, last = the step backward starts
//       from (T, or 1 for the reverse direction; if that one is zero, the
//       nearest non-zero one);
//   exploding if growth > 1e3 (measured: the gradient did grow that much),
//   else vanishing if bound < 1e-3 (even the largest amplification the steps
//       allow leaves less than 1e-3 of a gradient after T-1 steps),
//   else healthy. The whole model gets the worst verdict of its layers.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "step_gradients.hpp"

namespace rwd::nn {

enum class FlowVerdict { healthy, vanishing, exploding };
const char* verdict_name(FlowVerdict verdict);

struct GradientFlowOptions {
  std::size_t power_iterations = 8;  // per step and state tensor; 0 skips the Jacobians (and the bound)
  double vanishing_below = 1e-3, exploding_above = 1e3;
  std::uint64_t seed = 0;  // of the power iteration's start vectors
};

struct LayerGradientFlow {
  std::size_t layer = 0;
  bool reverse = false;
  std::vector<double> dh_norm;   // ‖∂L/∂h_t‖, t = 1..T
  std::vector<double> dc_norm;   // ‖∂L/∂c_t‖ (LSTM), else empty
  std::vector<double> jacobian_h;  // ‖∂h_t/∂h_{t-1}‖ estimates, t = 1..T; empty without power iterations
  std::vector<double> jacobian_c;  // ‖∂c_t/∂c_{t-1}‖ (LSTM)
  double gamma = 0, bound = 0, growth = 0;  // as in the rule above (gamma, bound: 0 without Jacobians)
  FlowVerdict verdict = FlowVerdict::healthy;
};

struct GradientFlow {
  std::vector<LayerGradientFlow> layers;  // layer 0 forward, layer 0 reverse, layer 1 ...
  FlowVerdict verdict = FlowVerdict::healthy;
  static const char* rule();  // the rule above, in one line
  // per layer: the range of the norms, γ, the bound, the growth, the verdict
  std::string to_string() const;
  // layer,direction,t,dh_norm,dc_norm,jacobian_h,jacobian_c  (empty fields where not measured)
  std::string to_csv() const;
};
std::ostream& operator<<(std::ostream& out, const GradientFlow& flow);

// Runs loss(model.forward(input, initial_state).output) once, backward once,
// and estimates the step Jacobians. The parameters' .grad() are left alone.
template <class T>
GradientFlow gradient_flow(Recurrent<T>& model, const Tensor<T>& input, const RecurrentState<T>& initial_state,
                           const std::type_identity_t<std::function<Tensor<T>(const Tensor<T>& output)>>& loss,
                           const GradientFlowOptions& options = {});

}  // namespace rwd::nn
