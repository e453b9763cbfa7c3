// nn::gradient_flow (check/gradient_flow.hpp): its ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖
// against the hand-derived BPTTs' dL/dh_t, dL/dc_t (bptt/); its Jacobian
// estimates against the Jacobians written out (RNN: diag(1 - h_t²) W_hh;
// LSTM's c: diag(f_t)); the verdict on models built to vanish, explode or not.
#include <doctest/doctest.h>

#include <xtensor/xview.hpp>

#include <rewind/rewind.hpp>

using namespace rwd;
using namespace rwd::nn;

namespace {

using Arr = xt::xarray<double>;

double frobenius(const Arr& a) { return std::sqrt(xt::sum(a * a)()); }

// dL/doutput of the loss, from the tape (the seed the references need)
Arr output_gradient(Recurrent<double>& model, const TensorD& x, const std::function<TensorD(const TensorD&)>& loss) {
  TensorD out = model.forward(x).output;
  return grad<double>({loss(out)}, {out})[0].value();
}

// The largest singular value of m by many power iterations on mᵀm (the matrices are tiny).
Arr matvec(const Arr& m, const Arr& v, bool transpose) {
  const std::size_t rows = m.shape()[0], cols = m.shape()[1];
  Arr out = xt::zeros<double>({transpose ? cols : rows});
  for (std::size_t i = 0; i < rows; ++i)
    for (std::size_t j = 0; j < cols; ++j) {
      if (transpose) out(j) += m(i, j) * v(i);
      else out(i) += m(i, j) * v(j);
    }
  return out;
}

double spectral_norm(const Arr& m) {
  Arr v = xt::ones<double>({m.shape()[1]});
  for (int i = 0; i < 2000; ++i) {
    v = matvec(m, matvec(m, v, false), true);
    v /= frobenius(v);
  }
  return frobenius(matvec(m, v, false));
}

}  // namespace

TEST_SUITE("gradient_flow") {
  TEST_CASE("‖dL/dh_t‖ and ‖dL/dc_t‖ equal the hand BPTT's, every layer and step, LSTM and GRU") {
    for (auto kind : {bptt::GatedKind::lstm, bptt::GatedKind::gru}) {
      CAPTURE(bptt::kind_name(kind));
      Generator gen(21);
      const std::size_t T = 15, B = 2, I = 3, H = 4, L = 2;
      const RecurrentOptions options{.input_size = I, .hidden_size = H, .num_layers = L};
      std::unique_ptr<Recurrent<double>> model;
      if (kind == bptt::GatedKind::lstm) model = std::make_unique<LSTM<double>>(options, gen);
      else model = std::make_unique<GRU<double>>(options, gen);
      const TensorD x = randn<double>({T, B, I}, gen), y = randn<double>({T, B, H}, gen);
      auto loss = [&](const TensorD& out) { return mean(pow(out - y, 2.0)); };
      const auto flow = gradient_flow<double>(*model, x, {}, loss, {.power_iterations = 0});
      const auto ref_model = gated_model_from_parameters(kind, model->named_parameters());
      const auto ref = bptt::gated_backward(ref_model, x.value(), bptt::gated_forward(ref_model, x.value()),
                                            output_gradient(*model, x, loss));
      REQUIRE(flow.layers.size() == L);
      for (std::size_t l = 0; l < L; ++l) {
        REQUIRE(flow.layers[l].dh_norm.size() == T);
        CHECK(flow.layers[l].dc_norm.size() == (kind == bptt::GatedKind::lstm ? T : 0));
        for (std::size_t t = 0; t < T; ++t) {
          const double dh = frobenius(xt::view(ref.layers[l].dh, t));
          CHECK(std::abs(flow.layers[l].dh_norm[t] - dh) <= 1e-10 * dh);
          if (kind != bptt::GatedKind::lstm) continue;
          const double dc = frobenius(xt::view(ref.layers[l].dc, t));
          CHECK(std::abs(flow.layers[l].dc_norm[t] - dc) <= 1e-10 * dc);
        }
      }
    }
  }

  TEST_CASE("RNN: ‖dL/dh_t‖ equals the Elman BPTT's; ‖∂h_t/∂h_{t-1}‖ the norm of diag(1 - h_t²) W_hh") {
    Generator gen(22);
    const std::size_t T = 8, B = 1, I = 2, H = 5;
    RNN<double> rnn({.input_size = I, .hidden_size = H}, gen);
    const TensorD x = randn<double>({T, B, I}, gen);
    auto loss = [](const TensorD& out) { return sum(out * out); };
    const auto flow = gradient_flow<double>(rnn, x, {}, loss, {.power_iterations = 60});
    const auto ref_model = elman_model_from_parameters(rnn.named_parameters(), bptt::ElmanActivation::tanh);
    const auto trace = bptt::elman_forward(ref_model, x.value());
    const auto ref = bptt::elman_backward(ref_model, x.value(), trace, output_gradient(rnn, x, loss));
    const Arr W = rnn.parameter("weight_hh_l0").value();
    for (std::size_t t = 0; t < T; ++t) {
      const double dh = frobenius(xt::view(ref.layers[0].dh, t));
      CHECK(std::abs(flow.layers[0].dh_norm[t] - dh) <= 1e-10 * dh);
      Arr J = W;  // row j scaled by 1 - h_t[j]²  (B = 1)
      for (std::size_t j = 0; j < H; ++j) xt::row(J, j) *= 1 - trace.layers[0].h(t + 1, 0, j) * trace.layers[0].h(t + 1, 0, j);
      const double exact = spectral_norm(J);
      CAPTURE(t);
      CHECK(flow.layers[0].jacobian_h[t] == doctest::Approx(exact).epsilon(1e-4));
    }
    // the default few iterations give a lower estimate within a few percent here
    const auto quick = gradient_flow<double>(rnn, x, {}, loss);
    for (std::size_t t = 0; t < T; ++t) CHECK(quick.layers[0].jacobian_h[t] <= flow.layers[0].jacobian_h[t] * (1 + 1e-6));
  }

  TEST_CASE("LSTM: ‖∂c_t/∂c_{t-1}‖ = max |f_t| (the Jacobian is diag(f_t))") {
    Generator gen(23);
    const std::size_t T = 5, B = 2, I = 2, H = 3;
    LSTM<double> lstm({.input_size = I, .hidden_size = H}, gen);
    const TensorD x = randn<double>({T, B, I}, gen);
    const auto flow = gradient_flow<double>(lstm, x, {}, [](const TensorD& out) { return sum(out); },
                                            {.power_iterations = 200});
    const auto ref_model = gated_model_from_parameters(bptt::GatedKind::lstm, lstm.named_parameters());
    const auto trace = bptt::gated_forward(ref_model, x.value());
    REQUIRE(flow.layers[0].jacobian_c.size() == T);
    for (std::size_t t = 0; t < T; ++t) {
      const Arr f = xt::view(trace.layers[0].gates, t, xt::all(), xt::range(H, 2 * H));
      CHECK(flow.layers[0].jacobian_c[t] == doctest::Approx(xt::amax(f)()).epsilon(1e-4));
    }
  }

  TEST_CASE("the verdict: vanishing, exploding and healthy models") {
    Generator gen(24);
    const std::size_t T = 40, B = 2, I = 2, H = 6;
    const TensorD x = randn<double>({T, B, I}, gen);
    auto last_step = [T](const TensorD& out) {  // the loss of the last step only
      return sum(select(out, 0, T - 1));
    };
    RNN<double> small({.input_size = I, .hidden_size = H}, gen);
    small.parameter("weight_hh_l0").mutable_value() *= 0.2;  // ‖J_t‖ < 0.2·‖W‖: the bound is tiny over 40 steps
    const auto vanishing = gradient_flow<double>(small, x, {}, last_step);
    CHECK_MESSAGE(vanishing.verdict == FlowVerdict::vanishing, vanishing.to_string());
    CHECK(vanishing.layers[0].bound < 1e-3);

    // relu with W_hh = 1.5 I and positive inputs: h_t grows, dL_T/dh_t = 1.5^(T-t) (...)
    RNN<double> big({.input_size = I, .hidden_size = H, .nonlinearity = Nonlinearity::relu}, gen);
    big.parameter("weight_hh_l0").mutable_value() = 1.5 * xt::eye<double>(H);
    const TensorD positive(xt::abs(x.value()));
    const auto exploding = gradient_flow<double>(big, positive, {}, last_step);
    CHECK_MESSAGE(exploding.verdict == FlowVerdict::exploding, exploding.to_string());
    CHECK(exploding.layers[0].growth > 1e3);

    LSTM<double> lstm({.input_size = I, .hidden_size = H}, gen);
    const TensorD short_x = randn<double>({4, B, I}, gen);
    const auto healthy = gradient_flow<double>(lstm, short_x, {}, [](const TensorD& out) { return sum(out); });
    CHECK_MESSAGE(healthy.verdict == FlowVerdict::healthy, healthy.to_string());
    CHECK(healthy.to_string().find("rule: exploding if") != std::string::npos);
    CHECK(healthy.to_csv().find("layer,direction,t,dh_norm,dc_norm,jacobian_h,jacobian_c\n0,forward,1,") == 0);
  }

  TEST_CASE("bidirectional: one entry per layer and direction, the reverse one in time order") {
    Generator gen(25);
    GRU<double> gru({.input_size = 2, .hidden_size = 3, .num_layers = 2, .bidirectional = true}, gen);
    const TensorD x = randn<double>({6, 2, 2}, gen);
    // the loss of the first output step: the reverse direction's gradient starts at t = 1 and grows towards t = 6
    const auto flow = gradient_flow<double>(gru, x, {}, [](const TensorD& out) { return sum(select(out, 0, 0)); });
    REQUIRE(flow.layers.size() == 4);
    CHECK(flow.layers[1].reverse);
    CHECK(flow.layers[1].layer == 0);
    CHECK(flow.layers[3].dh_norm[0] > 0);
    CHECK(flow.layers[2].dh_norm[5] == 0);  // the forward direction's h_6 does not reach output step 1
  }

  // step_gradients runs the model's own path (fused steps included) once more
  // with retain_step_grads: its dL/dh_t, dL/dc_t and the states it hands the
  // Jacobians must equal the op-by-op layer's, and no parameter's .grad() moves.
  TEST_CASE("step_gradients: the fused path's per-step gradients and states, the parameters' .grad() untouched") {
    for (bool batch_first : {false, true}) {
      CAPTURE(batch_first);
      Generator gen(26);
      const RecurrentOptions base{.input_size = 2, .hidden_size = 3, .num_layers = 2, .batch_first = batch_first,
                                  .bidirectional = true};
      LSTM<double> fused(base, gen);
      RecurrentOptions unfused_options = base;
      unfused_options.fused = false;
      LSTM<double> unfused(unfused_options, gen);
      load_state_dict(unfused, state_dict(fused));
      const TensorD x = randn<double>(batch_first ? Shape{2, 4, 2} : Shape{4, 2, 2}, gen);  // T = 4, B = 2
      const TensorD h0 = randn<double>({4, 2, 3}, gen), c0 = randn<double>({4, 2, 3}, gen);
      const auto loss = [](const TensorD& out) { return sum(out * out); };
      const TensorD before = randn<double>(fused.parameters()[0].shape(), gen);
      fused.parameters()[0].set_grad(before);
      const auto a = step_gradients<double>(fused, x, {h0, c0}, loss);
      const auto b = step_gradients<double>(unfused, x, {h0, c0}, loss);
      CHECK(xt::equal(fused.parameters()[0].grad().value(), before.value())());
      for (std::size_t k = 1; k < fused.parameters().size(); ++k) CHECK_FALSE(fused.parameters()[k].grad().defined());
      REQUIRE(a.size() == 4);
      REQUIRE(b.size() == 4);
      for (std::size_t l = 0; l < 4; ++l) {
        REQUIRE(a[l].h.size() == 4);
        REQUIRE(a[l].c.size() == 4);
        REQUIRE(a[l].state_before.size() == 4);
        for (std::size_t t = 0; t < 4; ++t) {
          CHECK(xt::allclose(a[l].h[t].value(), b[l].h[t].value(), 1e-12, 1e-12));
          CHECK(xt::allclose(a[l].c[t].value(), b[l].c[t].value(), 1e-12, 1e-12));
          CHECK(xt::allclose(a[l].projected_input[t].value(), b[l].projected_input[t].value(), 1e-12, 1e-12));
          for (std::size_t k = 0; k < 2; ++k)
            CHECK(xt::allclose(a[l].state_before[t][k].value(), b[l].state_before[t][k].value(), 1e-12, 1e-12));
        }
        // the first step in each direction's order starts from that row of h0
        const std::size_t first = a[l].reverse ? 3 : 0;
        CHECK(xt::allclose(a[l].state_before[first][0].value(), xt::view(h0.value(), l), 0, 0));
        // the step after `first` starts from what `first` returned: re-running the cell gives it
        const std::size_t second = a[l].reverse ? 2 : 1;
        const auto& cell = fused.cell(a[l].layer, a[l].reverse);
        const auto again = cell.step(a[l].projected_input[first], a[l].state_before[first]);
        CHECK(xt::allclose(again[1].value(), a[l].state_before[second][1].value(), 1e-12, 1e-12));
      }
    }
  }
}
