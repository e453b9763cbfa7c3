# The inputs of the crashes fuzzing found (fuzz/regressions/<target>/, see
# fuzz/README.md), run through the rewind program as the target runs them:
# a checkpoint must be refused by `train --resume` with one line of error naming
# the file; every other use must succeed or fail with an rwd::Error.
regressions=$(cd "$(dirname "$0")/../../fuzz/regressions" && pwd)
source "$(dirname "$0")/common.sh"
count=0
expect_refused() {  # expect_refused FILE ARGS...
  local file=$1; shift
  local status=0
  "$REWIND" "$@" > /dev/null 2> err.log || status=$?
  [ "$status" = 1 ] && [ "$(wc -l < err.log)" = 1 ] && grep -qF "$(basename "$file")" err.log \
    || fail "$file: exit $status: $(cat err.log)"
  count=$((count + 1))
}
expect_clean() {  # expect_clean FILE ARGS...: a success, or a refusal that is an rwd::Error (no std:: exception text)
  local file=$1; shift
  local status=0
  "$REWIND" "$@" > /dev/null 2> err.log || status=$?
  { [ "$status" = 0 ] || [ "$status" = 1 ]; } && ! grep -q "std::\|bad_alloc" err.log \
    || fail "$file: exit $status: $(cat err.log)"
  count=$((count + 1))
}
touch not_a_directory
for f in "$regressions"/checkpoint/*; do
  [ -e "$f" ] || continue
  expect_refused "$f" train --input "$DATA/x.npy" --target "$DATA/y.npy" --optimizer adam --lr 0.01 --steps 1000 \
    --resume "$f" --out-dir not_a_directory
  expect_clean "$f" predict --checkpoint "$f" --input "$DATA/x.npy" --output o.npy
done
for f in "$regressions"/predict/*; do
  [ -e "$f" ] || continue
  expect_clean "$f" predict --checkpoint "$DATA/rnn_sgd_init.npz" --input "$f" --output o.npy
done
for f in "$regressions"/npz/* "$regressions"/state_dict/*; do
  [ -e "$f" ] || continue
  expect_clean "$f" predict --checkpoint "$f" --input "$DATA/x.npy" --output o.npy
done
echo "fuzz_regressions: $count inputs refused cleanly"
