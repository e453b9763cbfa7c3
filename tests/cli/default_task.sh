# `rewind` with no subcommand: trains the default model, checks tape == hand BPTT, says where the files went.
source "$(dirname "$0")/common.sh"
REWIND_DEFAULT_TASK_STEPS=100 "$REWIND" > out.log 2>&1 || fail "exit $?: $(cat out.log)"
grep -q 'tape == hand-derived BPTT' out.log || fail "no BPTT verdict: $(cat out.log)"
grep -q 'rewind-out/loss.csv' out.log || fail "does not say where the CSV went"
[ -f rewind-out/loss.csv ] && [ -f rewind-out/checkpoint.npz ] || fail "files missing"
