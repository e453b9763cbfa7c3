#!/usr/bin/env python3
"""Reference data for `rewind grads` (tests/cli/grads.sh), from PyTorch.

For each case, writes into tests/data/grads/<case>/:
  weights.npz  the model's state_dict (PyTorch names: rnn.*, head.*)
  x.npy        the input sequence, (T, B, I)
  y.npy        targets: (T, B, O) floats for mse, (T, B) int64 for cross_entropy
  expected.npz torch's loss (0-D) and the gradient of every parameter
  args         the command-line flags describing the model and loss
The model is the recurrent layer followed by a Linear head at every step,
o_t = head(h_t); the loss is F.mse_loss(o, y) or F.cross_entropy(o.reshape(T*B, O),
y.reshape(T*B)), both with mean reduction.

Run with /usr/bin/python3 (torch 1.13) from the repository root:
  /usr/bin/python3 tests/data/make_grads_reference.py
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "grads")

CASES = [
    # name, model, I, H, O, layers, nonlinearity, bidirectional, bias, loss, dtype, T, B
    ("rnn_tanh", "rnn", 3, 4, 2, 1, "tanh", False, True, "mse", torch.float64, 5, 3),
    ("lstm_2layer", "lstm", 2, 3, 2, 2, "tanh", False, True, "mse", torch.float64, 4, 2),
    ("gru_bidirectional", "gru", 3, 3, 2, 1, "tanh", True, True, "mse", torch.float64, 4, 2),
    ("rnn_relu_nobias", "rnn", 2, 4, 3, 2, "relu", False, False, "mse", torch.float64, 5, 2),
    ("lstm_cross_entropy", "lstm", 3, 4, 4, 1, "tanh", True, True, "cross_entropy", torch.float64, 5, 3),
    ("gru_float32", "gru", 2, 4, 3, 2, "tanh", False, True, "mse", torch.float32, 4, 3),
]


class SequenceModel(torch.nn.Module):
    def __init__(self, model, I, H, O, layers, nonlinearity, bidirectional, bias):
        super().__init__()
        if model == "rnn":
            self.rnn = torch.nn.RNN(I, H, layers, nonlinearity=nonlinearity, bias=bias, bidirectional=bidirectional)
        elif model == "lstm":
            self.rnn = torch.nn.LSTM(I, H, layers, bias=bias, bidirectional=bidirectional)
        else:
            self.rnn = torch.nn.GRU(I, H, layers, bias=bias, bidirectional=bidirectional)
        self.head = torch.nn.Linear(H * (2 if bidirectional else 1), O)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


def main():
    torch.manual_seed(7)
    for (name, model, I, H, O, layers, nonlin, bidir, bias, loss, dtype, T, B) in CASES:
        out_dir = os.path.join(HERE, name)
        os.makedirs(out_dir, exist_ok=True)
        net = SequenceModel(model, I, H, O, layers, nonlin, bidir, bias).to(dtype)
        x = torch.randn(T, B, I, dtype=dtype)
        o = net(x)
        if loss == "mse":
            y = torch.randn(T, B, O, dtype=dtype)
            value = F.mse_loss(o, y)
        else:
            y = torch.randint(0, O, (T, B), dtype=torch.int64)
            value = F.cross_entropy(o.reshape(T * B, O), y.reshape(T * B))
        value.backward()
        np.savez(os.path.join(out_dir, "weights.npz"),
                 **{k: v.detach().numpy() for k, v in net.state_dict().items()})
        np.save(os.path.join(out_dir, "x.npy"), x.numpy())
        np.save(os.path.join(out_dir, "y.npy"), y.numpy())
        grads = {"loss": value.detach().numpy()}
        grads.update({k: p.grad.numpy() for k, p in net.named_parameters()})
        np.savez(os.path.join(out_dir, "expected.npz"), **grads)
        args = ["--model", model, "--input-size", str(I), "--hidden-size", str(H), "--output-size", str(O),
                "--num-layers", str(layers), "--nonlinearity", nonlin, "--loss", loss]
        if bidir:
            args.append("--bidirectional")
        if not bias:
            args.append("--no-bias")
        with open(os.path.join(out_dir, "args"), "w") as f:
            f.write(" ".join(args) + "\n")
        print(name, "loss", float(value))
    make_bad_inputs()


def make_bad_inputs():
    """Broken variants of the rnn_tanh case, each wrong in one way, for the rejection tests."""
    case = os.path.join(HERE, "rnn_tanh")
    out_dir = os.path.join(HERE, "bad")
    os.makedirs(out_dir, exist_ok=True)
    weights = dict(np.load(os.path.join(case, "weights.npz")))
    missing = {k: v for k, v in weights.items() if k != "rnn.bias_hh_l0"}
    np.savez(os.path.join(out_dir, "weights_missing.npz"), **missing)
    np.savez(os.path.join(out_dir, "weights_extra.npz"), **weights, **{"rnn.weight_ih_l1": np.zeros((4, 4))})
    shape = dict(weights)
    shape["head.weight"] = np.zeros((2, 3))
    np.savez(os.path.join(out_dir, "weights_shape.npz"), **shape)
    np.savez(os.path.join(out_dir, "weights_float32.npz"), **{k: v.astype(np.float32) for k, v in weights.items()})
    x = np.load(os.path.join(case, "x.npy"))
    y = np.load(os.path.join(case, "y.npy"))
    np.save(os.path.join(out_dir, "x_int64.npy"), x.astype(np.int64))
    np.save(os.path.join(out_dir, "x_2d.npy"), x[0])
    np.save(os.path.join(out_dir, "y_shape.npy"), y[:, :, :1])
    np.save(os.path.join(out_dir, "y_float32.npy"), y.astype(np.float32))
    with open(os.path.join(case, "weights.npz"), "rb") as f:
        data = f.read()
    with open(os.path.join(out_dir, "weights_truncated.npz"), "wb") as f:
        f.write(data[: len(data) // 2])


if __name__ == "__main__":
    main()
