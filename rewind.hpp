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
#include "nn/dropout.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/module.hpp"
#include "nn/npz.hpp"
#include "nn/state_dict.hpp"
