# Bad input: one line on stderr naming the problem, a non-zero exit, and no
# existing file touched (out/loss.csv, out/checkpoint.npz and the --save target hold sentinels).
source "$(dirname "$0")/common.sh"
mkdir out
for f in out/loss.csv out/checkpoint.npz saved.npz; do echo sentinel > "$f"; done
D=$DATA
bad() {  # bad EXPECTED_WORDS ARGS...  (--out-dir out unless OUT_DIR says otherwise)
  local words=$1; shift
  local status=0
  "$REWIND" train --out-dir "${OUT_DIR:-out}" --save saved.npz "$@" > stdout.log 2> stderr.log || status=$?
  [ "$status" != 0 ] || fail "exit 0 for: $*"
  [ "$(wc -l < stderr.log)" = 1 ] || fail "not one line for '$*': $(cat stderr.log)"
  grep -q -e "$words" stderr.log || fail "'$*': expected '$words' in: $(cat stderr.log)"
  for f in out/loss.csv out/checkpoint.npz saved.npz; do
    [ "$(cat "$f")" = sentinel ] || fail "'$*' overwrote $f"
  done
  echo "ok ($status): $(cat stderr.log)"
}
bad "cannot open" --input missing.npy --target "$D/y.npy"
bad "needs --target" --input "$D/x.npy"
bad "expected float32 or float64" --input "$D/classes.npy" --target "$D/y.npy"
bad "expected float64 \[T, B, O\]" --input "$D/x.npy" --target "$D/classes.npy"
bad "expected int64 class indices" --input "$D/x.npy" --target "$D/y.npy" --loss cross_entropy
bad "is nan, expected finite" --input "$D/x_nan.npy" --target "$D/y.npy"
bad "input '$D/make_train_reference.py'" --input "$D/make_train_reference.py" --target "$D/y.npy"
bad "holds a gru model, but --model is lstm" --input "$D/x.npy" --target "$D/y.npy" --init "$D/gru_adam_init.npz" --model lstm
bad "weight_ih_l0" --input "$D/x_wide.npy" --target "$D/y.npy" --init "$D/gru_adam_init.npz"
bad "not a rewind checkpoint" --resume "$D/gru_adam_init.npz" --model gru
bad "no such file" --resume nowhere.npz
bad "no such file" --init nowhere.npz
bad "sgd needs --lr" --optimizer sgd
bad "momentum applies to sgd and rmsprop" --optimizer adam --momentum 0.9
bad "nesterov" --optimizer sgd --lr 0.1 --nesterov
bad "lr must be finite and >= 0" --lr -1
bad "steps must be >= 1" --steps 0
bad "hidden-size must be >= 1" --hidden-size 0
bad "model" --model transformer
bad "betas" --betas 0.9
bad "could not be converted\|not a valid\|Could not convert" --lr abc
bad "tbptt does not apply" --task adding --tbptt 5
bad "--checkpoint-memory and --checkpoint-segment exclude each other" --checkpoint-memory 8 --checkpoint-segment 4
bad "--checkpoint-memory applies to full BPTT; with --tbptt use --checkpoint-segment" --checkpoint-memory 8 --tbptt 5
bad "--print-schedule needs --checkpoint-segment or --checkpoint-memory" --print-schedule
bad "a bidirectional model runs in segments only" --bidirectional --seq-len 100000 --checkpoint-memory 1
bad "--checkpoint-memory 1: checkpoint memory of 1048576 bytes holds no schedule" --hidden-size 512 --batch-size 64 --seq-len 100000 --checkpoint-memory 1
bad "batch-size applies to the built-in tasks" --input "$D/x.npy" --target "$D/y.npy" --batch-size 4
OUT_DIR=out/loss.csv bad "not a directory"
