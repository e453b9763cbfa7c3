# Failures under 2 processes end the whole job with one clear message naming
# the rank and the cause, and no process hangs (ctest's TIMEOUT would catch it):
# a model that differs on one rank, bad input on one rank, one rank failing
# alone mid-run (MPI_Abort), and a loss that becomes NaN (every rank agrees: exit 3).
source "$(dirname "$0")/common.sh"
D=$DATA/dist T=$DATA/train
common="train --steps 5 --input $D/x4.npy --target $D/y4.npy --optimizer adam"

status=0
mpi_each "$common --hidden-size 6 --out-dir a" "$common --hidden-size 7 --out-dir a" > a.log 2> a.err || status=$?
expect_error "$status" "rewind: error: dist: the ranks' models differ.*weight_ih_l0 float64 \[7, 2\]' on rank 1" a.err 1
one_line a.err || fail "mismatch: expected one rewind line: $(cat a.err)"

status=0
mpi_each "$common --out-dir b" "train --steps 5 --input $D/x4_nan.npy --target $D/y4.npy --out-dir b" \
  > b.log 2> b.err || status=$?
expect_error "$status" "rewind: error: rank 1 of 2: train: --input '.*x4_nan.npy': element 5 is nan" b.err 1
[ ! -e b ] || fail "bad input: wrote its out-dir"

# Rank 0 cannot create its --out-dir (a file is in the way) after the checks,
# while rank 1 already waits in the first step's exchange: MPI_Abort.
echo "not a folder" > blocker
status=0
mpi2 $common --out-dir blocker/out > c.log 2> c.err || status=$?
[ "$status" != 0 ] || fail "rank 0 failing alone: exit 0"
grep -q "rewind: rank 0 of 2: error: .*blocker/out.*; ending the whole job" c.err \
  || fail "rank 0 failing alone: $(cat c.err)"

# A loss that becomes NaN: every rank sees the same mean loss, so all stop at the same step.
status=0
mpi2 train --model rnn --optimizer sgd --lr 1e12 --dtype float32 --steps 200 --checkpoint-every 1 --hidden-size 8 \
  --seq-len 10 --batch-size 4 --out-dir nan > nan.log 2> nan.err || status=$?
expect_error "$status" "became .* at step [0-9]*; stopped, the last good checkpoint is nan/checkpoint.npz" nan.err 3
one_line nan.err || fail "NaN: expected one rewind line (rank 0's): $(cat nan.err)"
"$ALLCLOSE" nan/checkpoint.npz nan/checkpoint.npz > /dev/null || fail "NaN: checkpoint unreadable"
ls nan/.*tmp* 2> /dev/null && fail "NaN: temporary files left behind"
echo "ok"
