# rewind train --diagnose: the trained layer's gradient flow, printed and written to
# gradient_flow.csv (+ .svg). On --input x.npy [6, 3, 2] / --target y.npy with mse, every
# ||dL/dh_t|| and ||dL/dc_t|| of the CSV must equal the hand-derived BPTT's (bptt/gated_bptt.hpp,
# run by flow_reference on the final checkpoint, which holds the weights the diagnosis saw):
# 1e-9 relative in float64, 1e-4 in float32 (the reference computes in float64).
# diagnose.sh REWIND ALLCLOSE DATA WORK FLOW_REFERENCE
source "$(dirname "$0")/common.sh"
REFERENCE=$5
is_svg() { [ -s "$1" ] && grep -q '<svg' "$1" && tail -c 200 "$1" | grep -q '</svg>'; }
# same_norms CSV REFERENCE_CSV RTOL: gradient_flow.csv's forward rows against the reference, column by column
same_norms() {
  awk -F, -v rtol="$3" '
    NR == FNR { if (FNR > 1) { dh[$1 "," $2] = $3; dc[$1 "," $2] = $4 }; next }
    FNR == 1 { next }
    { key = $1 "," $3; n++
      if (!(key in dh)) { print "no reference row for layer,t = " key; bad = 1; next }
      if ($4 + 0 <= 0) { print "dh_norm not positive at " key ": " $4; bad = 1 }
      d = $4 - dh[key]; if (d < 0) d = -d
      if (d > rtol * dh[key]) { print "dh_norm at " key ": " $4 ", hand BPTT " dh[key]; bad = 1 }
      if (dc[key] != "") { d = $5 - dc[key]; if (d < 0) d = -d
        if (d > rtol * dc[key]) { print "dc_norm at " key ": " $5 ", hand BPTT " dc[key]; bad = 1 } }
      else if ($5 != "") { print "dc_norm at " key " for a GRU: " $5; bad = 1 } }
    END { if (n != length(dh)) { print n " rows, the reference has " length(dh); bad = 1 }; exit bad }' "$2" "$1"
}
check() {  # check NAME RTOL ARGS...: train with --diagnose, then the CSV against the hand BPTT
  local name=$1 rtol=$2; shift 2
  "$REWIND" train --target "$y" --steps 3 --hidden-size 4 --num-layers 2 --out-dir "$name" --diagnose "$@" \
    > "$name.log" || fail "$name: $(cat "$name.log")"
  grep -Eq '^gradient flow: (healthy|vanishing|exploding)$' "$name.log" || fail "$name: no verdict: $(cat "$name.log")"
  grep -q '^  rule: exploding if' "$name.log" || fail "$name: no rule"
  [ "$(grep -Ec '^ +[01] +forward ' "$name.log")" = 2 ] || fail "$name: not one summary row per layer"
  [ "$(wc -l < "$name/gradient_flow.csv")" = 13 ] || fail "$name: gradient_flow.csv is not 2 layers x 6 steps"
  "$REFERENCE" dh "$name/checkpoint.npz" "$x" "$y" > "$name-reference.csv" || fail "$name: the reference failed"
  same_norms "$name/gradient_flow.csv" "$name-reference.csv" "$rtol" > "$name-diff.log" \
    || fail "$name: the diagnosis differs from the hand BPTT: $(head -3 "$name-diff.log")"
  if command -v gnuplot > /dev/null; then
    is_svg "$name/gradient_flow.svg" || fail "$name: gradient_flow.svg is not an SVG"
    grep -q "plot: $name/gradient_flow.svg" "$name.log" || fail "$name: does not say where the plot went"
  fi
}
x=$DATA/x.npy y=$DATA/y.npy
check lstm 1e-9 --input "$x" --model lstm
check gru 1e-9 --input "$x" --model gru
grep -q ',forward,6,[0-9.e+-]*,[0-9.e+-]\+,' lstm/gradient_flow.csv || fail "lstm: no dc_norm column"
"$REFERENCE" to-float32 "$DATA/x.npy" x32.npy && "$REFERENCE" to-float32 "$DATA/y.npy" y32.npy || fail "to-float32"
x=x32.npy y=y32.npy
check lstm32 1e-4 --input "$x" --model lstm
grep -q 'LSTM (2 layers, hidden 4, float32)' lstm32/gradient_flow.gp || fail "lstm32: the plot's title does not say float32"

# Bidirectional (one row per layer, direction and step) on a built-in task, float32, and no gnuplot:
# the CSV is written and one line says there is no plot.
mkdir empty-path
PATH="$WORK/empty-path" "$REWIND" train --model gru --bidirectional --dtype float32 --steps 3 --seq-len 7 \
  --batch-size 2 --hidden-size 3 --diagnose --out-dir bi > bi.log || fail "bidirectional: $(cat bi.log)"
[ "$(grep -c ',forward,' bi/gradient_flow.csv)" = 7 ] && [ "$(grep -c ',reverse,' bi/gradient_flow.csv)" = 7 ] \
  || fail "bidirectional: not 7 steps per direction: $(cat bi/gradient_flow.csv)"
awk -F, 'NR > 1 && !($4 + 0 > 0 && $4 + 0 < 1e30) { exit 1 }' bi/gradient_flow.csv || fail "bidirectional: a norm is not finite and positive"
grep -q 'no plot: gnuplot is not on PATH' bi.log || fail "bidirectional: no one-line note without gnuplot: $(cat bi.log)"
[ ! -e bi/gradient_flow.svg ] || fail "bidirectional: an SVG without gnuplot"
# Without --diagnose there is no diagnosis.
"$REWIND" train --steps 2 --seq-len 5 --batch-size 2 --hidden-size 3 --out-dir plain > plain.log || fail "plain run"
[ ! -e plain/gradient_flow.csv ] && ! grep -q 'gradient flow' plain.log || fail "a diagnosis without --diagnose"
echo "diagnose: the CSV equals the hand BPTT (lstm, gru; float64 and float32), bidirectional rows, no gnuplot"
