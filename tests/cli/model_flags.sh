# `rewind train --input` takes rewind grads' size flags: optional, and checked
# against the data (x.npy [6, 3, 2], y.npy [6, 3, 2]) and the --init weights.
source "$(dirname "$0")/common.sh"
run() { "$REWIND" train --input "$DATA/x.npy" --target "$DATA/y.npy" --steps 2 --out-dir out "$@"; }
run --model gru --input-size 2 --output-size 2 --hidden-size 4 > ok.log || fail "matching sizes refused: $(cat ok.log)"
run --model gru --init "$DATA/gru_adam_init.npz" --input-size 2 --output-size 2 > init.log \
  || fail "matching sizes with --init refused: $(cat init.log)"
run --model gru > none.log || fail "no size flags (as before) refused: $(cat none.log)"
status=0; run --input-size 3 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- '--input-size is 3, but the data have 2 input features' err.log \
  || fail "--input-size mismatch: $status $(cat err.log)"
status=0; run --output-size 5 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- '--output-size is 5, but the data have 2' err.log || fail "--output-size mismatch: $(cat err.log)"
status=0; run --init "$DATA/gru_adam_init.npz" --output-size 3 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- "has 2 outputs (head.weight), but --output-size is 3" err.log \
  || fail "--output-size against --init: $(cat err.log)"
echo "model flags: checked against the data and --init"
