# --resume under 2 processes continues bit for bit: 30 steps in one go ==
# 15 steps, then resumed to 30 (same N). A job killed while rank 0 writes
# checkpoints leaves a checkpoint that loads and resumes.
source "$(dirname "$0")/common.sh"
args=(--model lstm --lr 0.01 --tbptt 6 --clip-norm 0.5 --hidden-size 6 --seq-len 16 --batch-size 4)
mpi2 train --steps 30 "${args[@]}" --out-dir once --save once.npz > /dev/null || fail "straight run"
mpi2 train --steps 15 "${args[@]}" --out-dir twice > /dev/null || fail "first half"
mpi2 train --steps 30 "${args[@]}" --out-dir twice --resume twice/checkpoint.npz --save twice.npz > /dev/null \
  || fail "resume"
"$ALLCLOSE" twice.npz once.npz 0 0 || fail "resumed weights differ"
"$ALLCLOSE" twice/checkpoint.npz once/checkpoint.npz 0 0 || fail "optimizer state differs"
cmp once/loss.csv twice/loss.csv || fail "loss history differs"

# Killed mid-run (SIGTERM to mpiexec, which kills every rank) while rank 0 checkpoints every step:
# the checkpoint on disk is a whole one (written to a temporary file, renamed into place).
"${MPIEXEC[@]}" -n 2 "$REWIND" train --steps 100000 --checkpoint-every 1 --hidden-size 6 --seq-len 16 \
  --batch-size 4 --out-dir killed > /dev/null 2>&1 &
job=$!
for _ in $(seq 200); do [ -e killed/checkpoint.npz ] && break; sleep 0.1; done
sleep 0.5
kill -TERM "$job"
wait "$job" 2> /dev/null || true
[ -e killed/checkpoint.npz ] || fail "no checkpoint before the kill"
"$ALLCLOSE" killed/checkpoint.npz killed/checkpoint.npz > /dev/null || fail "the checkpoint is damaged"
"$REWIND" sample --checkpoint killed/checkpoint.npz --length 5 > /dev/null || fail "the checkpoint does not load"
echo "ok"
