# The public headers: what `cmake --install` and the .deb put under
# include/rewind, and what the `docs` target documents. The list is explicit:
# a header not named here is the library's own business and is not installed.
#
# Not public (used only by the library's sources, tests and benchmarks):
#   autograd/op_support.hpp    helpers shared by the op sources
#   autograd/instantiate.hpp   REWIND_FOR_EACH_SCALAR, the explicit instantiations of every source
#   autograd/op_catalog.hpp    the op gradient-check tables of the tests and `rewind gradcheck`
#   autograd/blas.hpp          the one place Rewind calls BLAS (cblas is a private dependency)
#   autograd/thread_pool.hpp   the threads of the blocked products and the batch shards
#   autograd/vector_math.hpp   xsimd kernels of the fused steps
#   autograd/node.hpp          the record behind a Tensor (the engine's own)
#   autograd/tape_memory.hpp   the per-thread pools behind nodes and arrays
#   check/elman_parameter_names.hpp  PyTorch names -> the Elman reference's U, W, b, V, c (the gradient reports)
#   bptt/gated_steps.hpp       the LSTM/GRU references' per-cell pieces, included by bptt/'s sources only
#   dist/mpi_type.hpp          the MPI datatype of a scalar, included by dist/'s sources only
# Installed, public today, not a stable API: nn/fused_steps.hpp (the built-in
# cells' fused unrolls, in rewind.hpp).
# A public header may include only public headers: tests/install_consumer
# checks that against the installed tree.
set(REWIND_PUBLIC_HEADERS
  rewind.hpp
  autograd/checkpoint.hpp
  autograd/checkpoint_schedule.hpp
  autograd/dot.hpp
  autograd/engine.hpp
  autograd/functional.hpp
  autograd/grad_mode.hpp
  autograd/gradcheck.hpp
  autograd/gradcheck_doctest.hpp
  autograd/inline_function.hpp
  autograd/ops.hpp
  autograd/random.hpp
  autograd/threads.hpp
  autograd/tolerance.hpp
  autograd/tensor.hpp
  bptt/elman_bptt.hpp
  bptt/gated_bptt.hpp
  bptt/options.hpp
  check/gated_gradient_report.hpp
  check/gradient_flow.hpp
  check/gradient_report.hpp
  check/step_gradients.hpp
  io/npz.hpp
  nn/checkpointed_unroll.hpp
  nn/dropout.hpp
  nn/embedding.hpp
  nn/fused_steps.hpp
  nn/gru_cell.hpp
  nn/init.hpp
  nn/layer_norm.hpp
  nn/linear.hpp
  nn/loss.hpp
  nn/lstm_cell.hpp
  nn/module.hpp
  nn/recurrent.hpp
  nn/recurrent_cell.hpp
  nn/recurrent_layers.hpp
  nn/rnn_cell.hpp
  nn/state_dict.hpp
  optim/adagrad.hpp
  optim/adam.hpp
  optim/clip_grad.hpp
  optim/data_parallel.hpp
  optim/lr_scheduler.hpp
  optim/optimizer.hpp
  optim/rmsprop.hpp
  optim/sgd.hpp
  optim/shard.hpp
  optim/tbptt.hpp)

# rewind::dist's headers (installed with it, when MPI is found), under include/rewind.
set(REWIND_DIST_PUBLIC_HEADERS
  dist/agreement.hpp
  dist/context.hpp
  dist/dist.hpp
  dist/gradients.hpp
  dist/parameters.hpp
  dist/shard.hpp)
