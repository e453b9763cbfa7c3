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
#include "nn/module.hpp"
#include "optim/adagrad.hpp"
#include "optim/adam.hpp"
#include "optim/clip_grad.hpp"
#include "optim/lr_scheduler.hpp"
#include "optim/optimizer.hpp"
#include "optim/rmsprop.hpp"
#include "optim/sgd.hpp"
#include "optim/tbptt.hpp"
