# `rewind bptt`'s CSV of ||dL_T/dh_t|| (issue 14: its values were never
# checked). The hand BPTT's dh itself is checked against the tape in
# test_elman_bptt.cpp; here, what the CSV must then say of it: in every layer
# the truncated column equals the full one over the last k steps (the window
# holds every path from L_T to those h_t) and is 0 before them; the full
# column is positive everywhere; and with a small recurrent gain the gradient
# vanishes going back in time.
source "$(dirname "$0")/common.sh"
T=20 k=4
"$REWIND" bptt --seq-len $T --num-layers 2 --hidden-size 5 --truncation $k --repeats 1 --recurrent-gain 0.5 \
  --out-dir b > bptt.log || fail "bptt: $(cat bptt.log)"
[ "$(head -n 1 b/bptt_grad_norms.csv)" = "layer,t,full,truncated_k$k" ] || fail "header: $(head -n 1 b/bptt_grad_norms.csv)"
awk -F, -v T=$T -v k=$k '
  function fail(why) { print "row " NR ": " why ": " $0; bad = 1; exit 1 }
  NR == 1 { next }
  { rows[$1]++; layer = $1; t = $2; full = $3 + 0; truncated = $4 + 0
    if (t != rows[layer]) fail("t out of order")
    if (!(full > 0)) fail("full norm not positive")
    if (t > T - k) { d = full - truncated; if (d < 0) d = -d; if (d > 1e-12 * full) fail("truncated != full inside the window") }
    else if (truncated != 0) fail("truncated norm outside the window")
    if (t == 1) first[layer] = full
    if (t == T) last[layer] = full }
  END { if (bad) exit 1
        if (length(rows) != 2 || rows[0] != T || rows[1] != T) { print "expected " T " rows per layer"; exit 1 }
        for (l in last) if (!(first[l] < 1e-3 * last[l])) { print "layer " l ": no vanishing, " first[l] " vs " last[l]; exit 1 } }
' b/bptt_grad_norms.csv || fail "bptt_grad_norms.csv"
echo "bptt_csv: ok"
