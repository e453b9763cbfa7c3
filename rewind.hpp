// Rewind: reverse-mode automatic differentiation for recurrent models.
// The umbrella header: everything public, layer by layer, each layer knowing
// nothing of those after it (tests/layering.py holds the rule):
//   autograd/  Tensor, the tape, the ops, gradcheck
//   io/        .npy/.npz files
//   bptt/      the hand-derived BPTTs (autograd's kernels only, nothing of nn/)
//   nn/        modules, cells, the recurrent layers
//   check/     the tape against bptt/, per-step gradients, gradient flow
//   optim/     optimizers, clipping, schedules, truncated BPTT
#pragma once

#include "autograd/checkpoint.hpp"
#include "autograd/checkpoint_schedule.hpp"
#include "autograd/dot.hpp"
#include "autograd/engine.hpp"
#include "autograd/functional.hpp"
#include "autograd/grad_mode.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/ops.hpp"
#include "autograd/random.hpp"
#include "autograd/threads.hpp"
#include "autograd/tensor.hpp"
#include "autograd/tolerance.hpp"
#include "io/npz.hpp"
#include "bptt/elman_bptt.hpp"
#include "bptt/gated_bptt.hpp"
#include "nn/checkpointed_unroll.hpp"
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/fused_steps.hpp"
#include "nn/gru_cell.hpp"
#include "nn/init.hpp"
#include "nn/layer_norm.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/lstm_cell.hpp"
#include "nn/module.hpp"
#include "nn/recurrent.hpp"
#include "nn/recurrent_cell.hpp"
#include "nn/recurrent_layers.hpp"
#include "nn/rnn_cell.hpp"
#include "nn/state_dict.hpp"
#include "check/gated_gradient_report.hpp"
#include "check/gradient_flow.hpp"
#include "check/gradient_report.hpp"
#include "check/step_gradients.hpp"
#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/clip_grad.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/sgd.hpp"
#include "optim/tbptt.hpp"
