# rewind predict / sample from a checkpoint, and rewind bptt: outputs written, bad input refused.
source "$(dirname "$0")/common.sh"
"$REWIND" train --steps 5 --hidden-size 6 --seq-len 12 --batch-size 4 --out-dir out > /dev/null || fail "train"
# predict: a [T, B, 2] float64 model from the reference's init weights, on the reference's x
"$REWIND" predict --checkpoint "$DATA/gru_adam_init.npz" --input "$DATA/x.npy" --output o.npy > predict.log \
  || fail "predict: $(cat predict.log)"
grep -q 'wrote o.npy \[6, 3, 2\]' predict.log || fail "predict output: $(cat predict.log)"
status=0; "$REWIND" predict --checkpoint out/checkpoint.npz --input "$DATA/x.npy" --output o.npy 2> err.log || status=$?
[ "$status" = 1 ] && grep -q 'expected \[T, B, 1\]' err.log || fail "predict shape check: $status $(cat err.log)"
# sample: primes, generates, writes a CSV with prime + length rows
"$REWIND" sample --checkpoint out/checkpoint.npz --prime 10 --length 15 --out s.csv > sample.log || fail "sample"
[ "$(wc -l < s.csv)" = 26 ] || fail "sample.csv rows"
status=0; "$REWIND" sample --checkpoint "$DATA/gru_adam_init.npz" 2> err.log || status=$?
[ "$status" = 1 ] && grep -q '1 input to 1 output' err.log || fail "sample check: $(cat err.log)"
# bptt: tape == hand BPTT (exit 0), CSV with T rows per layer
"$REWIND" bptt --seq-len 20 --num-layers 2 --hidden-size 5 --truncation 4 --out-dir b > bptt.log \
  || fail "bptt: $(cat bptt.log)"
grep -q 'PASSED' bptt.log || fail "bptt verdict"
[ "$(wc -l < b/bptt_grad_norms.csv)" = 41 ] || fail "bptt csv rows"
