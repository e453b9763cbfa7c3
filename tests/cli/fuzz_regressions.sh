# The inputs of the crashes fuzzing found (fuzz/regressions/<target>/, see
# fuzz/README.md), run through the rewind program as the target runs them:
# each must be refused with exit 1 and one line of error, nothing written.
source "$(dirname "$0")/common.sh"
regressions=$(dirname "$0")/../../fuzz/regressions
count=0
expect_refused() {  # expect_refused FILE ARGS...
  local file=$1; shift
  local status=0
  "$REWIND" "$@" > /dev/null 2> err.log || status=$?
  [ "$status" = 1 ] && [ "$(wc -l < err.log)" = 1 ] || fail "$file: exit $status: $(cat err.log)"
  count=$((count + 1))
}
touch not_a_directory
for f in "$regressions"/checkpoint/*; do
  [ -e "$f" ] || continue
  expect_refused "$f" train --input "$DATA/x.npy" --target "$DATA/y.npy" --optimizer adam --lr 0.01 --steps 1000 \
    --resume "$f" --out-dir not_a_directory
done
for f in "$regressions"/predict/*; do
  [ -e "$f" ] || continue
  expect_refused "$f" predict --checkpoint "$DATA/rnn_sgd_init.npz" --input "$f" --output o.npy
done
for f in "$regressions"/npz/* "$regressions"/state_dict/*; do
  [ -e "$f" ] || continue
  expect_refused "$f" predict --checkpoint "$f" --input "$DATA/x.npy" --output o.npy
done
echo "fuzz_regressions: $count inputs refused cleanly"
