# `rewind train --threads 2` = `mpiexec -n 2 rewind train`, bit for bit (the same
# shards, the same order of sums: optim/data_parallel.hpp), and both equal one
# process on the whole batch to 1e-12 (float64): the reproducible mode and a
# built-in task. Ranks × threads (2 × 2) equal one process to 1e-12. A batch
# the threads do not divide, and --threads with --tbptt, are refused.
source "$(dirname "$0")/common.sh"
D=$DATA/dist T=$DATA/train
check() {  # check NAME ARGS...
  local name=$1; shift
  "$REWIND" train --steps 5 --out-dir "$name-1" --save "$name-1.npz" "$@" > "$name-1.log" \
    || fail "$name: one process: $(cat "$name-1.log")"
  "$REWIND" train --threads 2 --steps 5 --out-dir "$name-t" --save "$name-t.npz" "$@" > "$name-t.log" \
    || fail "$name: 2 threads: $(cat "$name-t.log")"
  mpi2 train --steps 5 --out-dir "$name-2" --save "$name-2.npz" "$@" > "$name-2.log" 2> "$name-2.err" \
    || fail "$name: two processes: $(cat "$name-2.log" "$name-2.err")"
  "$ALLCLOSE" "$name-t.npz" "$name-2.npz" 0 0 || fail "$name: 2 threads differ from 2 processes (bitwise)"
  cmp "$name-t/loss.csv" "$name-2/loss.csv" || fail "$name: 2 threads: loss history differs from 2 processes"
  "$ALLCLOSE" "$name-t.npz" "$name-1.npz" 1e-12 0 || fail "$name: 2 threads differ from 1"
  grep -q ', 2 threads' "$name-t.log" || fail "$name: the header does not say 2 threads: $(cat "$name-t.log")"
}
check gru_adam --input "$D/x4.npy" --target "$D/y4.npy" --init "$T/gru_adam_init.npz" --optimizer adam --lr 0.01
check lstm_adamw_ce --input "$D/x4.npy" --target "$D/classes4.npy" --init "$T/lstm_adamw_ce_init.npz" \
  --loss cross_entropy --optimizer adamw --lr 0.02
check sine --model lstm --batch-size 4 --seq-len 12 --hidden-size 6 --lr 0.01 --clip-norm 0.5
# 2 processes × 2 threads: 4 shards of one sequence each.
mpi2 train --threads 2 --steps 5 --out-dir sine-22 --save sine-22.npz --model lstm --batch-size 4 --seq-len 12 \
  --hidden-size 6 --lr 0.01 --clip-norm 0.5 > sine-22.log || fail "2 x 2: $(cat sine-22.log)"
"$ALLCLOSE" sine-22.npz sine-1.npz 1e-12 0 || fail "2 processes x 2 threads differ from 1 process"
grep -q '2 processes × 2 threads' sine-22.log || fail "2 x 2: header: $(cat sine-22.log)"
status=0
"$REWIND" train --threads 2 --steps 2 --out-dir odd --input "$T/x.npy" --target "$T/y.npy" > odd.log 2>&1 || status=$?
expect_error "$status" "batch of 3 sequences cannot be split evenly over 2 threads" odd.log 1
[ ! -e odd ] || fail "odd batch: wrote its out-dir"
status=0
"$REWIND" train --threads 2 --tbptt 4 --steps 2 --out-dir tb > tb.log 2>&1 || status=$?
expect_error "$status" "--threads applies to full BPTT" tb.log 1
status=0
"$REWIND" train --threads 0 --steps 2 --out-dir zero > zero.log 2>&1 || status=$?
expect_error "$status" "--threads must be >= 1" zero.log 1
echo "ok"
