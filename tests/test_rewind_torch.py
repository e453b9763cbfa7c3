"""tools/rewind_torch.py against what Rewind writes, with numpy only.

    python3 tests/test_rewind_torch.py REWIND WORK_DIR

1. `rewind train` checkpoints (LSTM float64, GRU float32, 2-layer RNN, a 2-layer
   bidirectional relu RNN without biases): the
   weights load_npz returns have exactly the names, shapes and dtypes that
   expected_names(architecture(...)) lists, and the optimizer/train entries are
   left out;
2. numpy "torch-style" state dicts exported by the tool are read by Rewind:
   `rewind predict` on the re-exported checkpoint gives the same outputs as on
   the original, and a wrong name is refused by Rewind;
3. with torch importable: the torch modules load_torch builds give Rewind's
   outputs end to end; without torch, that part says it was skipped.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import rewind_torch as rt  # noqa: E402

REWIND, WORK = sys.argv[1], sys.argv[2]
os.makedirs(WORK, exist_ok=True)
os.chdir(WORK)
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def run(*args):
    return subprocess.run([REWIND, *args], capture_output=True, text=True)


cases = [("lstm", "float64", 1, []), ("gru", "float32", 1, []), ("rnn", "float64", 2, []),
         ("rnn", "float64", 2, ["--bidirectional", "--no-bias", "--nonlinearity", "relu"])]
rng = np.random.default_rng(0)
x = rng.standard_normal((5, 2, 1))  # float64: predict converts it for a float32 model
np.save("x.npy", x)
for kind, dtype, layers, flags in cases:
    out = f"{kind}_{dtype}" + ("_bidirectional_relu" if flags else "")
    bidirectional, bias, relu = "--bidirectional" in flags, "--no-bias" not in flags, "relu" in flags
    r = run("train", "--task", "sine", "--model", kind, "--dtype", dtype, "--num-layers", str(layers),
            "--hidden-size", "4", "--steps", "2", "--seq-len", "8", "--batch-size", "2", "--out-dir", out, *flags)
    check(r.returncode == 0, f"{out}: rewind train failed: {r.stderr}")
    if r.returncode:
        continue
    checkpoint = os.path.join(out, "checkpoint.npz")
    with np.load(checkpoint) as archive:
        check(any(n.startswith("optimizer.") for n in archive.files), f"{out}: the checkpoint has no optimizer state")
    weights = rt.load_npz(checkpoint)
    a = rt.architecture(weights)
    check(a["kind"] == kind and a["num_layers"] == layers and a["hidden_size"] == 4 and a["input_size"] == 1
          and a["output_size"] == 1 and a["bidirectional"] == bidirectional and a["bias"] == bias,
          f"{out}: architecture {a}")
    check(rt.nonlinearity(checkpoint) == ("relu" if relu else "tanh"), f"{out}: nonlinearity {rt.nonlinearity(checkpoint)}")
    expected = rt.expected_names(kind, 1, 4, layers, bidirectional=bidirectional, bias=bias, output_size=1)
    check(sorted(weights) == sorted(n for n, _ in expected), f"{out}: names {sorted(weights)} != {expected}")
    for name, shape in expected:
        if name in weights:
            check(weights[name].shape == shape, f"{out}: {name} has shape {weights[name].shape}, expected {shape}")
            check(weights[name].dtype == np.dtype(dtype), f"{out}: {name} is {weights[name].dtype}, expected {dtype}")

    # Rewind -> state dicts -> Rewind: the same outputs
    rnn_state, head_state = rt.split(weights)
    check(set(rnn_state) == {n[4:] for n, _ in expected if n.startswith("rnn.")}, f"{out}: split names")
    rt.save_npz(f"{out}_again.npz", rt.from_state_dicts(rnn_state, head_state, nonlinearity=rt.nonlinearity(checkpoint)))
    r1 = run("predict", "--checkpoint", checkpoint, "--input", "x.npy", "--output", f"{out}_o1.npy")
    r2 = run("predict", "--checkpoint", f"{out}_again.npz", "--input", "x.npy", "--output", f"{out}_o2.npy")
    check(r1.returncode == 0 and r2.returncode == 0, f"{out}: predict failed: {r1.stderr} {r2.stderr}")
    if r1.returncode == 0 and r2.returncode == 0:
        o1, o2 = np.load(f"{out}_o1.npy"), np.load(f"{out}_o2.npy")
        check(o1.dtype == np.dtype(dtype) and o1.shape == (5, 2, 1), f"{out}: predict wrote {o1.dtype} {o1.shape}")
        check(np.array_equal(o1, o2), f"{out}: the re-exported weights predict differently")
    # a name Rewind does not know is refused, not ignored
    bad = dict(rt.from_state_dicts(rnn_state, head_state))
    bad["rnn.weight_xx_l0"] = bad.pop("rnn.weight_hh_l0")
    rt.save_npz(f"{out}_bad.npz", bad)
    r = run("predict", "--checkpoint", f"{out}_bad.npz", "--input", "x.npy", "--output", "bad.npy")
    check(r.returncode != 0 and "weight_hh_l0" in r.stderr, f"{out}: a wrongly named export was accepted: {r.stderr}")

    try:
        import torch
    except ImportError:
        print(f"{out}: torch is not installed: skipped the end-to-end comparison with torch modules")
        continue
    rnn, head = rt.load_torch(checkpoint)
    with torch.no_grad():
        xt = torch.from_numpy(x.astype(dtype))
        o = head(rnn(xt)[0]).numpy()
    rewind_o = np.load(f"{out}_o1.npy")
    tol = 1e-10 if dtype == "float64" else 1e-5
    check(np.allclose(o, rewind_o, rtol=tol, atol=tol), f"{out}: torch and Rewind outputs differ")
    rt.export_torch(f"{out}_torch.npz", rnn, head)
    check(sorted(rt.load_npz(f"{out}_torch.npz")) == sorted(weights), f"{out}: export_torch names")
    print(f"{out}: torch modules agree with Rewind end to end")

if failures:
    print(f"{len(failures)} failure(s)")
    sys.exit(1)
print("rewind_torch: names, shapes and dtypes match what Rewind writes; round trip through Rewind ok")
