# Reference for `rewind train --input/--target/--init` (tests/cli/train_reference.sh):
# PyTorch doing the same full-batch steps in float64 on tiny models:
#   optimizer.zero_grad(); loss = L(head(rnn(x)[0]), y); loss.backward();
#   clip_grad_norm_ if clip; optimizer.step()
# with L = mse_loss (mean) or cross_entropy over the T·B positions (mean).
# Run with /usr/bin/python3 (torch 1.13); writes the .npy/.npz files next to it.
import os
import numpy as np
import torch

torch.set_default_dtype(torch.float64)
here = os.path.dirname(os.path.abspath(__file__))
T, B, I = 6, 3, 2


class Model(torch.nn.Module):
    def __init__(self, kind, hidden, layers, out):
        super().__init__()
        cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind]
        self.rnn = cls(I, hidden, layers)
        self.head = torch.nn.Linear(hidden, out)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


def save_npz(path, model):
    np.savez(path, **{k: v.detach().numpy() for k, v in model.state_dict().items()})


def case(name, seed, kind, hidden, layers, loss, make_opt, steps=5, clip=None):
    torch.manual_seed(seed)
    out = 2 if loss == "mse" else 4
    model = Model(kind, hidden, layers, out)
    save_npz(os.path.join(here, f"{name}_init.npz"), model)
    opt = make_opt(model.parameters())
    for _ in range(steps):
        opt.zero_grad()
        o = model(x)
        if loss == "mse":
            l = torch.nn.functional.mse_loss(o, y)
        else:
            l = torch.nn.functional.cross_entropy(o.reshape(T * B, out), classes.reshape(T * B))
        l.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    save_npz(os.path.join(here, f"{name}_expected.npz"), model)


gen = torch.Generator().manual_seed(5)
x = torch.randn(T, B, I, generator=gen)
y = torch.randn(T, B, 2, generator=gen)
classes = torch.randint(0, 4, (T, B), generator=gen)
np.save(os.path.join(here, "x.npy"), x.numpy())
np.save(os.path.join(here, "y.npy"), y.numpy())
np.save(os.path.join(here, "classes.npy"), classes.numpy().astype(np.int64))
# bad inputs for tests/cli/train_bad_input.sh: a NaN in the data, and a third input feature
x_nan = x.numpy().copy()
x_nan[2, 1, 0] = np.nan
np.save(os.path.join(here, "x_nan.npy"), x_nan)
np.save(os.path.join(here, "x_wide.npy"), np.zeros((T, B, 3)))

# 1. 2-layer GRU, MSE, Adam(lr=0.01)
case("gru_adam", 1, "gru", 3, 2, "mse", lambda p: torch.optim.Adam(p, lr=0.01))
# 2. tanh RNN, MSE, SGD(lr=0.1, momentum=0.9, nesterov), clip_grad_norm_(0.5)
case("rnn_sgd", 2, "rnn", 4, 1, "mse", lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), clip=0.5)
# 3. LSTM, cross-entropy over 4 classes, AdamW(lr=0.02) (weight decay 1e-2 by default)
case("lstm_adamw_ce", 3, "lstm", 3, 1, "ce", lambda p: torch.optim.AdamW(p, lr=0.02))
