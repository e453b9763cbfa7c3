# A diverging run stops at the step whose loss is not finite, exit 3, naming the
# step, and the last checkpoint (before that step) stays readable.
source "$(dirname "$0")/common.sh"
status=0
"$REWIND" train --model rnn --optimizer sgd --lr 1e12 --dtype float32 --steps 200 --checkpoint-every 1 \
  --hidden-size 8 --seq-len 10 --batch-size 4 --out-dir out > out.log 2> err.log || status=$?
[ "$status" = 3 ] || fail "expected exit 3, got $status: $(cat err.log)"
grep -q 'became .* at step [0-9]*; stopped, the last good checkpoint is out/checkpoint.npz' err.log \
  || fail "message: $(cat err.log)"
[ "$(wc -l < err.log)" = 1 ] || fail "expected one line on stderr: $(cat err.log)"
"$ALLCLOSE" out/checkpoint.npz out/checkpoint.npz > /dev/null || fail "checkpoint unreadable"
ls out/*.tmp 2> /dev/null && fail "temporary files left behind"
cat err.log
