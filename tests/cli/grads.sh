#!/usr/bin/env bash
# `rewind grads` end to end, run by CTest:
#   grads.sh REWIND NPZ_TOOL DATA_DIR WORK_DIR
# 1. On every case of tests/data/grads (made by tests/data/make_grads_reference.py
#    from PyTorch 1.13), rewind's loss and gradients match torch's: 1e-10 relative
#    in float64, 1e-4 in float32 (npz_tool compare).
# 2. Round trip: the same run on weights and inputs rewritten by Rewind's own
#    npz/npy writer gives bit-identical gradients, and rewind reads its own grads.npz.
# 3. Bad inputs are rejected: exit code != 0, exactly one line on stderr naming
#    the problem, no output file created, and an existing output left untouched.
set -u
REWIND=$1 NPZ_TOOL=$2 DATA=$3 WORK=$4
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# ---- 1. torch's gradients ---------------------------------------------------
cases=0
for case_dir in "$DATA"/*/; do
  case_name=$(basename "$case_dir")
  [ -f "$case_dir/args" ] || continue
  cases=$((cases + 1))
  read -r -a args < "$case_dir/args"
  out="$WORK/$case_name.grads.npz"
  echo "== $case_name: ${args[*]}"
  if ! "$REWIND" grads "${args[@]}" --state "$case_dir/weights.npz" --input "$case_dir/x.npy" \
      --target "$case_dir/y.npy" --out "$out"; then
    fail "$case_name: rewind grads failed"
    continue
  fi
  "$NPZ_TOOL" compare "$case_dir/expected.npz" "$out" || fail "$case_name: gradients differ from torch's"
done
[ "$cases" -ge 6 ] || fail "expected at least 6 reference cases in $DATA, found $cases"

# ---- 2. round trip through Rewind's own files --------------------------------
case_dir="$DATA/lstm_2layer"
read -r -a args < "$case_dir/args"
"$NPZ_TOOL" copy "$case_dir/weights.npz" "$WORK/rt_weights.npz" || fail "round trip: copy weights"
"$NPZ_TOOL" copy-npy "$case_dir/x.npy" "$WORK/rt_x.npy" || fail "round trip: copy x"
"$NPZ_TOOL" copy-npy "$case_dir/y.npy" "$WORK/rt_y.npy" || fail "round trip: copy y"
"$REWIND" grads "${args[@]}" --state "$WORK/rt_weights.npz" --input "$WORK/rt_x.npy" --target "$WORK/rt_y.npy" \
  --out "$WORK/rt_grads.npz" > /dev/null || fail "round trip: rewind grads on rewritten files"
"$NPZ_TOOL" compare "$WORK/lstm_2layer.grads.npz" "$WORK/rt_grads.npz" --exact > /dev/null ||
  fail "round trip: gradients from rewritten files are not bit-identical"
"$NPZ_TOOL" copy "$WORK/rt_grads.npz" "$WORK/rt_grads_copy.npz" &&
  "$NPZ_TOOL" compare "$WORK/rt_grads.npz" "$WORK/rt_grads_copy.npz" --exact > /dev/null ||
  fail "round trip: grads.npz does not read back identically"

# ---- 3. rejections ---------------------------------------------------------------
good=("$REWIND" grads --model rnn --input-size 3 --hidden-size 4 --output-size 2 --loss mse)
ok_files=(--state "$DATA/rnn_tanh/weights.npz" --input "$DATA/rnn_tanh/x.npy" --target "$DATA/rnn_tanh/y.npy")
BAD="$DATA/bad"

# expect_rejected LABEL PATTERN ARGS...: runs rewind with ARGS plus --out, twice:
# once with no output file (none may appear), once over an existing one (it must not change).
expect_rejected() {
  local label=$1 pattern=$2
  shift 2
  local out="$WORK/rejected.npz"
  rm -f "$out"
  "$@" --out "$out" > "$WORK/stdout" 2> "$WORK/stderr"
  local code=$?
  local lines
  lines=$(wc -l < "$WORK/stderr")
  if [ "$code" -eq 0 ]; then fail "$label: exit code 0"; fi
  if [ "$lines" -ne 1 ]; then fail "$label: expected one line on stderr, got $lines:"; cat "$WORK/stderr"; fi
  if ! grep -q -- "^rewind: error: .*$pattern" "$WORK/stderr"; then
    fail "$label: message does not name '$pattern':"; cat "$WORK/stderr"
  fi
  if [ -e "$out" ]; then fail "$label: output file was created"; fi
  if ls "$WORK" | grep -q '^rejected\.npz.'; then fail "$label: a temporary file was left behind"; fi
  echo "previous contents" > "$out"
  "$@" --out "$out" > /dev/null 2>&1 && fail "$label: exit code 0 over an existing output"
  if [ "$(cat "$out")" != "previous contents" ]; then fail "$label: existing output file was changed"; fi
  rm -f "$out"
  echo "rejected ($label): $(cat "$WORK/stderr")"
}

s="$DATA/rnn_tanh"
expect_rejected "missing name" "weights_missing.npz.*missing 'rnn.bias_hh_l0'" \
  "${good[@]}" --state "$BAD/weights_missing.npz" --input "$s/x.npy" --target "$s/y.npy"
expect_rejected "extra name" "weights_extra.npz.*unexpected 'rnn.weight_ih_l1'" \
  "${good[@]}" --state "$BAD/weights_extra.npz" --input "$s/x.npy" --target "$s/y.npy"
expect_rejected "wrong shape" "weights_shape.npz.*'head.weight' has shape" \
  "${good[@]}" --state "$BAD/weights_shape.npz" --input "$s/x.npy" --target "$s/y.npy"
# float32 weights with float64 data: the weights' dtype is the precision, the data are converted and one line says so
"${good[@]}" --state "$BAD/weights_float32.npz" --input "$s/x.npy" --target "$s/y.npy" \
  --out "$WORK/f32.npz" > "$WORK/f32.log" 2>&1 || fail "float32 weights, float64 data: $(cat "$WORK/f32.log")"
grep -q 'is float64, converted to the model.s float32' "$WORK/f32.log" || fail "float32 weights: no conversion note"
expect_rejected "truncated weights" "weights_truncated.npz" \
  "${good[@]}" --state "$BAD/weights_truncated.npz" --input "$s/x.npy" --target "$s/y.npy"
expect_rejected "missing weights file" "nonexistent.npz" \
  "${good[@]}" --state "$WORK/nonexistent.npz" --input "$s/x.npy" --target "$s/y.npy"
expect_rejected "int64 input" "x_int64.npy.*int64" \
  "${good[@]}" --state "$s/weights.npz" --input "$BAD/x_int64.npy" --target "$s/y.npy"
expect_rejected "2-D input" "x_2d.npy.*shape" \
  "${good[@]}" --state "$s/weights.npz" --input "$BAD/x_2d.npy" --target "$s/y.npy"
expect_rejected "target shape" "y_shape.npy.*shape" \
  "${good[@]}" --state "$s/weights.npz" --input "$s/x.npy" --target "$BAD/y_shape.npy"
expect_rejected "target dtype" "y_float32.npy.*float32" \
  "${good[@]}" --state "$s/weights.npz" --input "$s/x.npy" --target "$BAD/y_float32.npy"
expect_rejected "float targets for cross_entropy" "y.npy.*int64" \
  "${good[@]/mse/cross_entropy}" --state "$s/weights.npz" --input "$s/x.npy" --target "$s/y.npy"
expect_rejected "wrong hidden size" "weights.npz.*has shape" \
  "$REWIND" grads --model rnn --input-size 3 --hidden-size 5 --output-size 2 --loss mse "${ok_files[@]}"
expect_rejected "model mismatch" "weights.npz: does not match the lstm model: .*has shape" \
  "$REWIND" grads --model lstm --input-size 3 --hidden-size 4 --output-size 2 --loss mse "${ok_files[@]}"
expect_rejected "nonsense model" "--model.*'transformer'" \
  "$REWIND" grads --model transformer --input-size 3 --hidden-size 4 --output-size 2 --loss mse "${ok_files[@]}"
expect_rejected "nonsense loss" "--loss.*'hinge'" "${good[@]/mse/hinge}" "${ok_files[@]}"
expect_rejected "nonsense nonlinearity" "--nonlinearity.*'sigmoid'" \
  "${good[@]}" --nonlinearity sigmoid "${ok_files[@]}"
expect_rejected "negative size" "--hidden-size" \
  "$REWIND" grads --model rnn --input-size 3 --hidden-size -4 --output-size 2 --loss mse "${ok_files[@]}"
expect_rejected "zero layers" "--num-layers" "${good[@]}" --num-layers 0 "${ok_files[@]}"
expect_rejected "huge size" "--hidden-size" \
  "$REWIND" grads --model rnn --input-size 3 --hidden-size 100000000000 --output-size 2 --loss mse "${ok_files[@]}"
expect_rejected "unknown flag" "--frobnicate" "${good[@]}" --frobnicate "${ok_files[@]}"
expect_rejected "missing flag" "--state" \
  "$REWIND" grads --model rnn --input-size 3 --hidden-size 4 --output-size 2 --loss mse --input "$s/x.npy" \
  --target "$s/y.npy"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all grads checks passed"
