# Data for the MPI tests (tests/dist): like tests/data/train's x/y/classes but
# with a batch of B = 4 sequences, so 2 processes take 2 each. Python's own
# random module (no numpy needed): python3 make_dist_data.py writes the .npy
# files next to it. Same T and I as tests/data/train, so its *_init.npz fit.
import os
import random
import struct

T, B, I, O, C = 6, 4, 2, 2, 4
here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(13)


def save_npy(name, code, shape, values, fmt):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        code, ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    with open(os.path.join(here, name), "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1"))
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))


x = [rng.gauss(0, 1) for _ in range(T * B * I)]
y = [rng.gauss(0, 1) for _ in range(T * B * O)]
classes = [rng.randrange(C) for _ in range(T * B)]
save_npy("x4.npy", "<f8", (T, B, I), x, "d")
save_npy("y4.npy", "<f8", (T, B, O), y, "d")
save_npy("classes4.npy", "<i8", (T, B), classes, "q")
x_nan = list(x)
x_nan[5] = float("nan")
save_npy("x4_nan.npy", "<f8", (T, B, I), x_nan, "d")
