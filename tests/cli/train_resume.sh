# --resume continues bit for bit: 30 steps in one go == 15 steps, then resumed to 30.
source "$(dirname "$0")/common.sh"
resume() {  # resume NAME ARGS...
  local name=$1; shift
  "$REWIND" train --steps 30 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir "$name-once" \
    --save "$name-once.npz" "$@" > /dev/null || fail "$name: straight run failed"
  "$REWIND" train --steps 15 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir "$name-twice" "$@" > /dev/null \
    || fail "$name: first half failed"
  "$REWIND" train --steps 30 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir "$name-twice" \
    --resume "$name-twice/checkpoint.npz" --save "$name-twice.npz" "$@" > /dev/null || fail "$name: resume failed"
  "$ALLCLOSE" "$name-twice.npz" "$name-once.npz" 0 0 || fail "$name: resumed weights differ"
  "$ALLCLOSE" "$name-twice/checkpoint.npz" "$name-once/checkpoint.npz" 0 0 || fail "$name: optimizer state differs"
  cmp "$name-once/loss.csv" "$name-twice/loss.csv" || fail "$name: loss history differs"
}
# a resume with another seed would see other data: refused
status=0
"$REWIND" train --steps 4 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir seeded > /dev/null || fail "seeded run"
"$REWIND" train --steps 8 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir seeded --seed 5 \
  --resume seeded/checkpoint.npz 2> err.log > /dev/null || status=$?
[ "$status" = 1 ] && grep -q 'was trained with --seed 0, got --seed 5' err.log || fail "seed check: $(cat err.log)"
resume lstm_adam --model lstm --lr 0.01 --tbptt 6 --clip-norm 0.5
resume gru_sgd --model gru --optimizer sgd --lr 0.05 --momentum 0.9
# a run that already reached --steps: resumed again it exits 0, says the run is complete and still
# writes --save (and loss.csv, the checkpoint) from the checkpoint, equal to the straight run's
"$REWIND" train --steps 30 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir lstm_adam-twice --model lstm \
  --lr 0.01 --tbptt 6 --clip-norm 0.5 --resume lstm_adam-twice/checkpoint.npz --save done.npz > done.log 2>&1 \
  || fail "resuming a complete run: exit $?: $(cat done.log)"
grep -q "^lstm_adam-twice/checkpoint.npz is at step 30 of --steps 30: the run is complete, nothing to train$" done.log \
  || fail "complete run: $(cat done.log)"
grep -q "^wrote .*done.npz (final weights)" done.log || fail "complete run: --save not reported: $(cat done.log)"
grep -q "steps/s" done.log && fail "complete run: trained: $(cat done.log)"
"$ALLCLOSE" done.npz lstm_adam-once.npz 0 0 || fail "complete run: --save differs from the straight run's weights"
"$ALLCLOSE" lstm_adam-twice/checkpoint.npz lstm_adam-once/checkpoint.npz 0 0 || fail "complete run: checkpoint changed"
cmp lstm_adam-once/loss.csv lstm_adam-twice/loss.csv || fail "complete run: loss history differs"
# into another --out-dir: the checkpoint and loss.csv are written there too
"$REWIND" train --steps 30 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir elsewhere --model lstm \
  --lr 0.01 --tbptt 6 --clip-norm 0.5 --resume lstm_adam-twice/checkpoint.npz > /dev/null 2>&1 || fail "elsewhere"
cmp lstm_adam-once/loss.csv elsewhere/loss.csv || fail "complete run elsewhere: loss history differs"
"$ALLCLOSE" elsewhere/checkpoint.npz lstm_adam-once/checkpoint.npz 0 0 || fail "complete run elsewhere: checkpoint"
# past --steps: refused, since its weights are not those of --steps
status=0
"$REWIND" train --steps 20 --hidden-size 6 --seq-len 16 --batch-size 4 --out-dir lstm_adam-twice --model lstm \
  --lr 0.01 --tbptt 6 --clip-norm 0.5 --resume lstm_adam-twice/checkpoint.npz --save past.npz 2> err.log > /dev/null \
  || status=$?
[ "$status" = 1 ] || fail "past --steps: exit $status"
grep -q "is at step 30, past --steps 20: its weights are step 30's, not step 20's" err.log || fail "past: $(cat err.log)"
[ ! -e past.npz ] || fail "past --steps: wrote --save"
