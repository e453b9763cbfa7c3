#!/usr/bin/env bash
# `rewind graph` end to end, run by CTest: graph.sh REWIND WORK_DIR
# For each cell, the compact view has the dashed delay edge "D" from h_t back
# to h_{t-1} (and c for the LSTM), and the unrolled view over --steps 4 has
# the four copies of the step (x_1..x_4, h_1..h_4, o_1..o_4) and no delay edge.
set -u
REWIND=$1 WORK=$2
rm -rf "$WORK" && mkdir -p "$WORK"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
count() { grep -c -- "$1" "$2"; }

for model in rnn lstm gru; do
  dir="$WORK/$model"
  "$REWIND" graph --model "$model" --steps 4 --out-dir "$dir" || { fail "$model: rewind graph failed"; continue; }
  compact="$dir/compact.dot" unrolled="$dir/unrolled.dot"
  for f in "$compact" "$unrolled"; do
    [ -s "$f" ] || fail "$model: $f missing or empty"
    head -1 "$f" | grep -q '^digraph ' || fail "$model: $f is not a DOT digraph"
  done
  [ -s "$compact" ] && [ -s "$unrolled" ] || continue
  grep -q 'label="x_t' "$compact" || fail "$model: compact view has no x_t"
  grep -q 'label="h_{t-1}' "$compact" || fail "$model: compact view has no h_{t-1}"
  grep -q 'label="h_t' "$compact" || fail "$model: compact view has no h_t"
  grep -q 'label="weight_ih_l0' "$compact" || fail "$model: compact view does not label weight_ih"
  grep -q 'label="weight_hh_l0' "$compact" || fail "$model: compact view does not label weight_hh"
  delays=$(count 'style=dashed, label="D"' "$compact")
  expected_delays=1
  [ "$model" = lstm ] && expected_delays=2
  [ "$delays" -eq "$expected_delays" ] || fail "$model: compact view has $delays delay edges, expected $expected_delays"
  [ "$(count 'label="x_' "$unrolled")" -eq 4 ] || fail "$model: unrolled view does not have 4 inputs x_1..x_4"
  for t in 1 2 3 4; do
    grep -q "label=\"h_$t\\\\n" "$unrolled" || fail "$model: unrolled view has no h_$t"
    grep -q "label=\"o_$t\\\\n" "$unrolled" || fail "$model: unrolled view has no o_$t"
  done
  grep -q 'label="h_5' "$unrolled" && fail "$model: unrolled view has more than 4 steps"
  grep -q 'style=dashed' "$unrolled" && fail "$model: unrolled view has a compact-view delay edge"
  # One cluster per step, and the delays between them (h, and c for the LSTM, from step 1 to 2, 2 to 3, 3 to 4).
  [ "$(count 'subgraph cluster_' "$unrolled")" -eq 4 ] || fail "$model: unrolled view does not have 4 step clusters"
  [ "$(count 'label="D"\]' "$unrolled")" -ge 3 ] || fail "$model: unrolled view lacks delay edges between steps"
  # The weights are shared by every step: each appears once.
  [ "$(count 'label="weight_hh_l0' "$unrolled")" -eq 1 ] || fail "$model: weight_hh drawn more than once"
done

# no flags: an RNN into rewind-out/
mkdir -p "$WORK/defaults" && (cd "$WORK/defaults" && "$REWIND" graph > /dev/null) || fail "rewind graph with no flags failed"
[ -s "$WORK/defaults/rewind-out/unrolled.dot" ] || fail "rewind graph with no flags: no rewind-out/unrolled.dot"
grep -q 'label="weight_hh_l0' "$WORK/defaults/rewind-out/compact.dot" || fail "rewind graph with no flags: not an RNN"

"$REWIND" graph --model rnn --steps 0 --out-dir "$WORK/zero" 2> "$WORK/stderr" && fail "--steps 0 accepted"
grep -q -- "--steps" "$WORK/stderr" || fail "--steps 0: message does not name --steps"
"$REWIND" graph --model cnn --out-dir "$WORK/cnn" 2> "$WORK/stderr" && fail "--model cnn accepted"
grep -q -- "--model.*'cnn'" "$WORK/stderr" || fail "--model cnn: message does not name the value"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all graph checks passed"
