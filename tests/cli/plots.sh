# Plots: `rewind train` (loss curve), `rewind bptt` (||dL/dh_t||, full and truncated) and
# `rewind graph` write SVGs beside their CSV/DOT when gnuplot/dot are installed, and
# with the tools off the PATH say so in one line and still write the CSV/DOT.
source "$(dirname "$0")/common.sh"
is_svg() { [ -s "$1" ] && grep -q '<svg' "$1" && tail -c 200 "$1" | grep -q '</svg>'; }
mkdir empty-path
without_tools() { PATH="$WORK/empty-path" "$@"; }

train() { "$REWIND" train --steps 8 --hidden-size 6 --seq-len 12 --batch-size 4 "$@"; }
bptt() { "$REWIND" bptt --seq-len 12 --hidden-size 5 --truncation 4 --repeats 1 "$@"; }

if command -v gnuplot > /dev/null; then
  train --out-dir t > t.log || fail "train: $(cat t.log)"
  is_svg t/loss.svg || fail "t/loss.svg is not an SVG"
  grep -q "plot: t/loss.svg" t.log || fail "train does not say where the plot went: $(cat t.log)"
  bptt --out-dir b > b.log || fail "bptt: $(cat b.log)"
  is_svg b/bptt_grad_norms.svg || fail "b/bptt_grad_norms.svg is not an SVG"
  grep -q 'full BPTT' b/bptt_grad_norms.svg && grep -q 'truncated BPTT, k=4' b/bptt_grad_norms.svg \
    || fail "the bptt plot lacks its two curves' titles"
  ls t/*.tmp b/*.tmp 2> /dev/null && fail "temporary files left behind"
else
  echo "gnuplot is not installed: checking only the runs without it"
fi
if command -v dot > /dev/null; then
  "$REWIND" graph --model gru --out-dir g > g.log || fail "graph: $(cat g.log)"
  is_svg g/compact.svg && is_svg g/unrolled.svg || fail "graph SVGs"
fi

# Without the tools: the CSV/DOT, and one line saying there is no plot and why.
without_tools train --out-dir t2 > t2.log || fail "train without gnuplot: $(cat t2.log)"
[ -s t2/loss.csv ] && [ ! -e t2/loss.svg ] || fail "train without gnuplot: loss.csv missing or loss.svg drawn"
[ "$(grep -c 'no plot: gnuplot is not on PATH (install gnuplot-nox' t2.log)" = 1 ] || fail "train note: $(cat t2.log)"
without_tools bptt --out-dir b2 > b2.log || fail "bptt without gnuplot: $(cat b2.log)"
[ -s b2/bptt_grad_norms.csv ] && [ ! -e b2/bptt_grad_norms.svg ] || fail "bptt without gnuplot: files"
grep -q 'no plot: gnuplot is not on PATH' b2.log || fail "bptt note: $(cat b2.log)"
without_tools "$REWIND" graph --model rnn --out-dir g2 > g2.log || fail "graph without dot: $(cat g2.log)"
[ -s g2/compact.dot ] && [ ! -e g2/compact.svg ] || fail "graph without dot: files"
[ "$(grep -c 'no SVG: dot is not on PATH (install graphviz' g2.log)" = 1 ] || fail "graph note: $(cat g2.log)"
echo "plots checked"
