# Determinism (issue 14), float64: two runs of the same command give bitwise
# the same weights, optimizer state and loss history; so do runs with
# OpenBLAS on 1 and on 2 threads (the recurrent GEMMs are [64, 96] x [96, 288],
# big enough for OpenBLAS to consider threads; it splits a GEMM's output, not
# its sums, so each element is summed in one order either way). --resume is
# covered by train_resume.sh and train_kill.sh.
source "$(dirname "$0")/common.sh"
args=(--model gru --hidden-size 96 --batch-size 64 --seq-len 24 --steps 6 --optimizer adam --clip-norm 1
      --log-every 1000)
OPENBLAS_NUM_THREADS=1 "$REWIND" train "${args[@]}" --out-dir one --save one.npz > /dev/null || fail "run 1"
OPENBLAS_NUM_THREADS=1 "$REWIND" train "${args[@]}" --out-dir again --save again.npz > /dev/null || fail "run 2"
OPENBLAS_NUM_THREADS=2 "$REWIND" train "${args[@]}" --out-dir two --save two.npz > /dev/null || fail "run 3"
"$ALLCLOSE" again.npz one.npz 0 0 && "$ALLCLOSE" again/checkpoint.npz one/checkpoint.npz 0 0 \
  && cmp -s again/loss.csv one/loss.csv || fail "two identical runs differ"
"$ALLCLOSE" two.npz one.npz 0 0 && "$ALLCLOSE" two/checkpoint.npz one/checkpoint.npz 0 0 \
  && cmp -s two/loss.csv one/loss.csv || fail "1 and 2 OpenBLAS threads differ"
echo "determinism: ok"
