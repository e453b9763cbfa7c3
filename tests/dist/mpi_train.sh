# `mpiexec -n 2 rewind train` equals one process on the same data: the
# reproducible mode (--input/--target/--init, float64) to 1e-12 relative, for
# the three optimizer/loss cases of tests/cli/train_reference.sh on a batch of
# 4 (tests/data/dist); a built-in task with truncated BPTT too. Rank 0 alone
# prints and writes; the same N twice gives the same bits; a batch that N
# does not divide is refused.
source "$(dirname "$0")/common.sh"
D=$DATA/dist T=$DATA/train
check() {  # check NAME ARGS...
  local name=$1; shift
  "$REWIND" train --steps 5 --out-dir "$name-1" --save "$name-1.npz" "$@" > "$name-1.log" \
    || fail "$name: one process: $(cat "$name-1.log")"
  mpi2 train --steps 5 --out-dir "$name-2" --save "$name-2.npz" "$@" > "$name-2.log" 2> "$name-2.err" \
    || fail "$name: two processes: $(cat "$name-2.log" "$name-2.err")"
  "$ALLCLOSE" "$name-2.npz" "$name-1.npz" 1e-12 0 || fail "$name: 2 processes differ from 1"
  [ "$(grep -c 'training a' "$name-2.log")" = 1 ] || fail "$name: expected one header line: $(cat "$name-2.log")"
  grep -q '2 processes' "$name-2.log" || fail "$name: the header does not say 2 processes"
  [ "$(wc -l < "$name-2/loss.csv")" = 6 ] || fail "$name: loss.csv"
}
check gru_adam --input "$D/x4.npy" --target "$D/y4.npy" --init "$T/gru_adam_init.npz" --optimizer adam --lr 0.01
check rnn_sgd --input "$D/x4.npy" --target "$D/y4.npy" --init "$T/rnn_sgd_init.npz" --optimizer sgd --lr 0.1 \
  --momentum 0.9 --nesterov --clip-norm 0.5
check lstm_adamw_ce --input "$D/x4.npy" --target "$D/classes4.npy" --init "$T/lstm_adamw_ce_init.npz" \
  --loss cross_entropy --optimizer adamw --lr 0.02
# Reproducible for a fixed N: the same run again gives the same bits.
mpi2 train --steps 5 --out-dir again --save again.npz --input "$D/x4.npy" --target "$D/y4.npy" \
  --init "$T/gru_adam_init.npz" --optimizer adam --lr 0.01 > /dev/null || fail "again"
"$ALLCLOSE" again.npz gru_adam-2.npz 0 0 || fail "two runs on 2 processes differ"
cmp again/loss.csv gru_adam-2/loss.csv || fail "two runs on 2 processes: loss histories differ"
# A built-in task (each process generates the whole batch and takes its half), truncated BPTT, float64.
"$REWIND" train --model lstm --steps 20 --batch-size 4 --seq-len 12 --tbptt 5 --hidden-size 6 --lr 0.01 \
  --out-dir sine-1 --save sine-1.npz > /dev/null || fail "sine: one process"
mpi2 train --model lstm --steps 20 --batch-size 4 --seq-len 12 --tbptt 5 --hidden-size 6 --lr 0.01 \
  --out-dir sine-2 --save sine-2.npz > /dev/null || fail "sine: two processes"
"$ALLCLOSE" sine-2.npz sine-1.npz 1e-12 0 || fail "sine: 2 processes differ from 1"
# --diagnose (a bidirectional LSTM without biases): rank 0 alone measures the trained model on the
# whole batch, prints once and writes gradient_flow.csv, equal to one process's up to rounding.
diagnose=(train --model lstm --bidirectional --no-bias --steps 5 --batch-size 4 --seq-len 8 --hidden-size 5 --diagnose)
"$REWIND" "${diagnose[@]}" --out-dir diag-1 > diag-1.log || fail "diagnose: one process: $(cat diag-1.log)"
mpi2 "${diagnose[@]}" --out-dir diag-2 > diag-2.log || fail "diagnose: two processes: $(cat diag-2.log)"
[ "$(grep -c '^gradient flow: ' diag-2.log)" = 1 ] || fail "diagnose: expected one report: $(cat diag-2.log)"
[ "$(wc -l < diag-2/gradient_flow.csv)" = 17 ] || fail "diagnose: not 2 directions x 8 steps"
paste -d, diag-1/gradient_flow.csv diag-2/gradient_flow.csv | awk -F, 'NR > 1 {
  for (k = 4; k <= 7; k++) { d = $k - $(k + 7); if (d < 0) d = -d; if (d > 1e-9 * ($k < 0 ? -$k : $k)) exit 1 } }' \
  || fail "diagnose: 2 processes differ from 1: $(paste -d' ' diag-1/gradient_flow.csv diag-2/gradient_flow.csv | head -3)"
# B = 3 on 2 processes: refused before anything is written, one line from rank 0.
status=0
mpi2 train --steps 5 --out-dir odd --input "$T/x.npy" --target "$T/y.npy" > odd.log 2> odd.err || status=$?
expect_error "$status" "batch of 3 sequences cannot be split evenly over 2 processes" odd.err 1
one_line odd.err || fail "odd batch: expected one rewind line: $(cat odd.err)"
[ ! -e odd ] || fail "odd batch: wrote its out-dir"
echo "ok"
