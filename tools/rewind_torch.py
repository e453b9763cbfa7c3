#!/usr/bin/env python3
"""Weights both ways between PyTorch and Rewind.

Rewind reads and writes .npz archives (numpy.load opens them) under PyTorch's
parameter names. A model of `rewind train`, `rewind grads --state` and
`rewind predict` is a recurrent layer (torch.nn.RNN, LSTM or GRU, time-major)
under "rnn." plus a torch.nn.Linear head under "head."; a `rewind train`
checkpoint also holds "optimizer.*" and "train.*" entries, which are not weights.

As a module (numpy only, except the *_torch functions):

    import rewind_torch as rt
    rt.export_torch("init.npz", rnn=lstm, head=linear)       # torch -> Rewind (--init, --state)
    rnn, head = rt.load_torch("rewind-out/checkpoint.npz")   # Rewind -> torch modules
    weights = rt.load_npz("rewind-out/checkpoint.npz")       # name -> numpy array, weights only
    rt.architecture(weights)                                 # kind, sizes, layers, dtype ...
    rt.nonlinearity("rewind-out/checkpoint.npz")             # an RNN's: "tanh" or "relu"

From the shell:

    python3 tools/rewind_torch.py inspect rewind-out/checkpoint.npz
    python3 tools/rewind_torch.py to-torch rewind-out/checkpoint.npz model.pt     # torch.save({'rnn': ..., 'head': ...})
    python3 tools/rewind_torch.py from-torch model.pt init.npz
"""
import os
import sys
import tempfile

import numpy as np

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
NOT_WEIGHTS = ("optimizer.", "train.")


def load_npz(path):
    """The weights in a Rewind .npz (a checkpoint's optimizer and training state left out)."""
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files if not name.startswith(NOT_WEIGHTS)}


def nonlinearity(path):
    """An RNN's nonlinearity as `rewind train` records it ("train.nonlinearity", a relu RNN's), else "tanh"."""
    with np.load(path, allow_pickle=False) as archive:
        if "train.nonlinearity" not in archive.files:
            return "tanh"
        return "".join(chr(c) for c in archive["train.nonlinearity"])


def save_npz(path, entries):
    """Writes name -> array atomically (a temporary file renamed over `path`), as Rewind does."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **{name: np.ascontiguousarray(value) for name, value in entries.items()})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def architecture(weights):
    """What a Rewind model's weights say: kind, input/hidden/output sizes, layers, directions, bias, dtype."""
    if "rnn.weight_hh_l0" not in weights:
        raise ValueError("no 'rnn.weight_hh_l0': not a Rewind model (rnn.* and head.* under PyTorch's names)")
    w = weights["rnn.weight_hh_l0"]
    hidden = w.shape[1]
    gates = w.shape[0] // hidden
    kinds = {v: k for k, v in GATES.items()}
    if w.shape[0] % hidden or gates not in kinds:
        raise ValueError(f"rnn.weight_hh_l0 has shape {w.shape}, expected [G*H, H] with G = 1, 3 or 4")
    layers = 0
    while f"rnn.weight_hh_l{layers}" in weights:
        layers += 1
    return {
        "kind": kinds[gates],
        "input_size": weights["rnn.weight_ih_l0"].shape[1],
        "hidden_size": hidden,
        "num_layers": layers,
        "bidirectional": "rnn.weight_hh_l0_reverse" in weights,
        "bias": "rnn.bias_ih_l0" in weights,
        "output_size": weights["head.weight"].shape[0] if "head.weight" in weights else None,
        "dtype": w.dtype,
    }


def expected_names(kind, input_size, hidden_size, num_layers=1, bidirectional=False, bias=True, output_size=None):
    """(name, shape) of every weight Rewind writes for such a model, in PyTorch's order."""
    g = GATES[kind] * hidden_size
    directions = 2 if bidirectional else 1
    names = []
    for layer in range(num_layers):
        layer_input = input_size if layer == 0 else directions * hidden_size
        for suffix in ([""] + (["_reverse"] if bidirectional else [])):
            names.append((f"rnn.weight_ih_l{layer}{suffix}", (g, layer_input)))
            names.append((f"rnn.weight_hh_l{layer}{suffix}", (g, hidden_size)))
            if bias:
                names.append((f"rnn.bias_ih_l{layer}{suffix}", (g,)))
                names.append((f"rnn.bias_hh_l{layer}{suffix}", (g,)))
    if output_size is not None:
        names.append(("head.weight", (output_size, directions * hidden_size)))
        names.append(("head.bias", (output_size,)))
    return names


def from_state_dicts(rnn_state, head_state=None, dtype=None, nonlinearity="tanh"):
    """torch state dicts (or name -> numpy array) -> Rewind's entries, "rnn." and "head." prefixed
    (and, for a relu RNN, "train.nonlinearity", which Rewind reads back; torch's default tanh needs none)."""
    def array(value):
        value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
        return value.astype(dtype) if dtype is not None else value
    entries = {"rnn." + name: array(value) for name, value in rnn_state.items()}
    for name, value in (head_state or {}).items():
        entries["head." + name] = array(value)
    if nonlinearity != "tanh":
        entries["train.nonlinearity"] = np.array([ord(c) for c in nonlinearity], dtype=np.int64)
    return entries


def split(weights):
    """Rewind's entries -> (recurrent state dict, head state dict), as numpy arrays under torch's names."""
    rnn = {name[4:]: value for name, value in weights.items() if name.startswith("rnn.")}
    head = {name[5:]: value for name, value in weights.items() if name.startswith("head.")}
    return rnn, head


# ---- with torch -------------------------------------------------------------------

def export_torch(path, rnn, head=None, dtype=None):
    """Writes a torch.nn.RNN/LSTM/GRU (time-major) and an optional torch.nn.Linear to Rewind's .npz."""
    if getattr(rnn, "batch_first", False):
        raise ValueError("Rewind's models are time-major: use batch_first=False")
    save_npz(path, from_state_dicts(rnn.state_dict(), head.state_dict() if head is not None else None, dtype,
                                    getattr(rnn, "nonlinearity", "tanh")))


def load_torch(path):
    """A Rewind .npz (weights or a `rewind train` checkpoint) -> (torch RNN/LSTM/GRU, torch Linear or None)."""
    import torch

    weights = load_npz(path)
    a = architecture(weights)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[a["kind"]]
    torch_dtype = torch.float32 if a["dtype"] == np.float32 else torch.float64
    extra = {"nonlinearity": nonlinearity(path)} if a["kind"] == "rnn" else {}
    rnn = cls(a["input_size"], a["hidden_size"], num_layers=a["num_layers"], bias=a["bias"],
              bidirectional=a["bidirectional"], **extra).to(torch_dtype)
    rnn_state, head_state = split(weights)
    rnn.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in rnn_state.items()})
    head = None
    if head_state:
        head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0]).to(torch_dtype)
        head.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in head_state.items()})
    return rnn, head


def _main(argv):
    usage = "usage: rewind_torch.py inspect FILE.npz | to-torch FILE.npz OUT.pt | from-torch IN.pt OUT.npz"
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    command, args = argv[1], argv[2:]
    if command == "inspect" and len(args) == 1:
        weights = load_npz(args[0])
        print(architecture(weights))
        for name, value in weights.items():
            print(f"  {name:28s} {str(value.dtype):8s} {list(value.shape)}")
        return 0
    if command == "to-torch" and len(args) == 2:
        import torch
        rnn, head = load_torch(args[0])
        torch.save({"rnn": rnn.state_dict(), "head": head.state_dict() if head is not None else None}, args[1])
        print(f"wrote {args[1]}: {rnn} + {head}")
        return 0
    if command == "from-torch" and len(args) == 2:
        import torch
        saved = torch.load(args[0])
        save_npz(args[1], from_state_dicts(saved["rnn"], saved.get("head")))
        print(f"wrote {args[1]}")
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
