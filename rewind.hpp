// Rewind: reverse-mode automatic differentiation for recurrent models.
// The umbrella header: everything public, in layers (autograd < nn < optim).
#pragma once

#include "autograd/dot.hpp"
#include "autograd/engine.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/random.hpp"
#include "autograd/tensor.hpp"
#include "nn/elman_bptt.hpp"
#include "nn/gradient_report.hpp"
#include "nn/gru_cell.hpp"
#include "nn/init.hpp"
#include "nn/lstm_cell.hpp"
#include "nn/module.hpp"
#include "nn/recurrent.hpp"
#include "nn/recurrent_cell.hpp"
#include "nn/recurrent_layers.hpp"
#include "nn/rnn_cell.hpp"
