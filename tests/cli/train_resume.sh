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
