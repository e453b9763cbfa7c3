"""Writes the .npz files tests/test_npz.cpp reads, with numpy's own writer.

Run once from this directory with /usr/bin/python3 (numpy); the outputs are
committed, so the test suite never needs python. Every value follows a
formula that the C++ test recomputes independently:

  numpy_reference.npz (numpy.savez: stored entries)
    f32      float32 [2, 3]      v[i, j] = 0.5 * (3 i + j) - 1
    f64      float64 [2, 3, 4]   v[i, j, k] = 100 i + 10 j + k + 0.125
    i64      int64   [5]         [-3, 0, 7, 2**40 + 7, -(2**62)]
    scalar   float64 []          3.25
    fortran  float64 [2, 3]      v[i, j] = 10 i + j, stored in Fortran order
    empty    float32 [0, 3]
  numpy_reference_compressed.npz (numpy.savez_compressed: deflated entries)
    f64      float64 [2, 3, 4]   as above
"""
import numpy as np

f32 = (0.5 * np.arange(6, dtype=np.float32) - 1).reshape(2, 3)
i, j, k = np.meshgrid(np.arange(2), np.arange(3), np.arange(4), indexing="ij")
f64 = (100 * i + 10 * j + k + 0.125).astype(np.float64)
i64 = np.array([-3, 0, 7, 2**40 + 7, -(2**62)], dtype=np.int64)
scalar = np.array(3.25, dtype=np.float64)
fortran = np.asfortranarray((10 * np.arange(2)[:, None] + np.arange(3)[None, :]).astype(np.float64))
assert fortran.flags["F_CONTIGUOUS"] and not fortran.flags["C_CONTIGUOUS"]
empty = np.zeros((0, 3), dtype=np.float32)

np.savez("numpy_reference.npz", f32=f32, f64=f64, i64=i64, scalar=scalar, fortran=fortran, empty=empty)
np.savez_compressed("numpy_reference_compressed.npz", f64=f64)

# Malformed archives for the error tests (each must give a clear rwd::Error):
#   not_npy.npz          a zip whose entry is not a .npy ("notes.txt")
#   bad_magic.npz        "x.npy" holds text, not the \x93NUMPY magic
#   bad_header.npz       "x.npy" has a header dict without 'fortran_order'
#   big_endian.npz       "x.npy" is big-endian float32 ('>f4', unsupported)
#   truncated_entry.npz  "x.npy" is a float64 [4] array missing its last element
import io
import zipfile


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_with_header(header_dict):
    # A version 1.0 header padded to 64 bytes, as numpy writes it.
    header = header_dict.encode("latin1")
    length = 64 - 10 - 1
    return b"\x93NUMPY\x01\x00" + length.to_bytes(2, "little") + header.ljust(length) + b"\n" + bytes(8)


def write_zip(name, entries):
    with zipfile.ZipFile(name, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)


write_zip("not_npy.npz", {"notes.txt": b"not an array\n"})
write_zip("bad_magic.npz", {"x.npy": b"hello, this is not a .npy file"})
write_zip("bad_header.npz", {"x.npy": npy_with_header("{'descr': '<f8', 'shape': (1,), }")})
write_zip("big_endian.npz", {"x.npy": npy_bytes(np.arange(3, dtype=">f4"))})
write_zip("truncated_entry.npz", {"x.npy": npy_bytes(np.arange(4, dtype=np.float64))[:-8]})
