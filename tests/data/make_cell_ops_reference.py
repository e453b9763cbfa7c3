#!/usr/bin/python3
"""Reference values for tests/test_cell_ops.cpp, computed by PyTorch.

Run from the repository root with torch 1.13 (Debian's python3-torch):
    /usr/bin/python3 tests/data/make_cell_ops_reference.py > tests/data/cell_ops_reference.txt

Each case runs one op of issue 26 (layer_norm, var, std, rsqrt, sin, cos,
log_sigmoid, gelu, min/amin, max/amax ties, sum/mean over an int dim, chunk) in
double precision on seeded random inputs, and writes the inputs, the output and
the gradient of sum(output * r) for a seeded random r (the cotangent) with
respect to every input. The C++ test names the same function for each case.

Format, one record per line, whitespace separated:
    case <name>
    input <ndim> <dims...> <values...>       in argument order
    cotangent <ndim> <dims...> <values...>
    output <ndim> <dims...> <values...>      (chunk: one line per chunk)
    grad <ndim> <dims...> <values...>        per input, in order
    end
"""
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def tensor_line(kind, t):
    t = t.detach().contiguous()
    dims = " ".join(str(d) for d in t.shape)
    values = " ".join(repr(float(v)) for v in t.reshape(-1))
    return f"{kind} {t.dim()} {dims} {values}".replace("  ", " ")


def case(name, f, *inputs, seed):
    torch.manual_seed(seed)
    xs = [x.clone().requires_grad_(True) for x in inputs]
    out = f(*xs)
    print(f"case {name}")
    for x in xs:
        print(tensor_line("input", x))
    outs = list(out) if isinstance(out, tuple) else [out]
    rs = [torch.randn(o.shape) for o in outs]
    for r in rs:
        print(tensor_line("cotangent", r))
    for o in outs:
        print(tensor_line("output", o))
    loss = sum((o * r).sum() for o, r in zip(outs, rs))
    grads = torch.autograd.grad(loss, xs)
    for g in grads:
        print(tensor_line("grad", g))
    print("end")


def randn(*shape, seed):
    torch.manual_seed(seed)
    return torch.randn(*shape)


def main():
    x = randn(2, 3, 4, seed=1)
    w, b = randn(4, seed=2), randn(4, seed=3)
    case("layer_norm affine [4]", lambda x, w, b: F.layer_norm(x, [4], w, b), x, w, b, seed=10)
    case("layer_norm [3,4] no affine", lambda x: F.layer_norm(x, [3, 4]), x, seed=11)
    case("layer_norm weight only eps 0.1", lambda x, w: F.layer_norm(x, [5], w, None, 0.1),
         randn(3, 5, seed=4), randn(5, seed=5), seed=12)
    case("var all", lambda x: torch.var(x), x, seed=13)
    case("var all unbiased false", lambda x: torch.var(x, unbiased=False), x, seed=14)
    case("var dim 1", lambda x: torch.var(x, 1), x, seed=15)
    case("var dims 0 2 correction 2 keepdim", lambda x: torch.var(x, (0, 2), correction=2, keepdim=True), x, seed=16)
    case("var dim -1 unbiased false", lambda x: torch.var(x, -1, unbiased=False), x, seed=17)
    case("std all", lambda x: torch.std(x), x, seed=18)
    case("std dim -1 keepdim", lambda x: torch.std(x, -1, keepdim=True), x, seed=19)
    case("std dims 0 1 correction 0", lambda x: torch.std(x, (0, 1), correction=0), x, seed=20)
    case("rsqrt", torch.rsqrt, randn(2, 3, seed=6).abs() + 0.1, seed=21)
    case("sin", torch.sin, x * 3, seed=22)
    case("cos", torch.cos, x * 3, seed=23)
    case("log_sigmoid", F.logsigmoid, torch.cat([x.reshape(-1) * 4, torch.tensor([-40.0, -20.0, 20.0, 40.0])]),
         seed=24)
    case("gelu", F.gelu, x * 3, seed=25)
    case("gelu tanh", lambda x: F.gelu(x, approximate="tanh"), x * 3, seed=26)
    case("min all", torch.amin, x, seed=27)
    case("min dim 1 keepdim", lambda x: torch.amin(x, 1, keepdim=True), x, seed=28)
    ties = torch.tensor([[1.0, -2.0, 3.0, -2.0], [0.5, 0.5, 0.5, 4.0], [-1.0, 2.0, 2.0, -1.0]])
    case("min ties dim 1", lambda x: torch.amin(x, 1), ties, seed=29)
    case("min ties all", torch.amin, ties, seed=30)
    case("max ties dim 1", lambda x: torch.amax(x, 1), ties, seed=31)
    case("max ties all", torch.amax, ties, seed=32)
    case("sum int dim -1", lambda x: torch.sum(x, -1), x, seed=33)
    case("mean int dim 1 keepdim", lambda x: torch.mean(x, 1, keepdim=True), x, seed=34)
    case("chunk 3 of 7 dim 0", lambda x: torch.chunk(x, 3, 0), randn(7, 2, seed=7), seed=35)
    case("chunk 4 of 6 dim -1", lambda x: torch.chunk(x, 4, -1), randn(2, 6, seed=8), seed=36)


if __name__ == "__main__":
    main()
