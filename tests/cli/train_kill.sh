# Crash-safe checkpoints (issue 14): `rewind train` checkpointing every step is
# killed with SIGKILL at pseudo-random moments, at least 50 times. After each
# kill the last checkpoint must read as a whole (every entry, CRCs checked)
# and --resume from it must reach bitwise the final weights, optimizer state
# and loss history of one uninterrupted run (float64). Each killed run resumes
# the previous one's checkpoint, so kills land in fresh starts, in resumed
# runs, and during checkpoint writes alike. Bounded: 60 kills, delays under
# the run's own duration.
source "$(dirname "$0")/common.sh"
args=(--model lstm --hidden-size 6 --seq-len 12 --batch-size 4 --steps 30 --checkpoint-every 1 --optimizer adam
      --lr 0.01 --clip-norm 1 --log-every 1000)
begin=$(date +%s%N)
"$REWIND" train "${args[@]}" --out-dir ref --save ref.npz > /dev/null || fail "uninterrupted run"
run_ms=$(( ($(date +%s%N) - begin) / 1000000 ))
RANDOM=2026  # the kill moments are pseudo-random, the same on every run of this test
kills=0 resumed=0 finished=0 before_first=0
while [ "$kills" -lt 60 ]; do
  resume=()
  [ -f chain/checkpoint.npz ] && resume=(--resume chain/checkpoint.npz)
  [ $((kills + finished)) -lt 300 ] || fail "$finished of $((kills + finished)) runs ended before their kill"
  "$REWIND" train "${args[@]}" --out-dir chain "${resume[@]}" > /dev/null 2> chain.err &
  pid=$!
  sleep "$(awk -v ms=$(( RANDOM % (run_ms + 1) )) 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -9 "$pid" 2> /dev/null || true
  status=0
  wait "$pid" 2> /dev/null || status=$?
  if [ "$status" != 137 ]; then  # it ended before the kill: finished, or resumed a finished chain (exit 0 too)
    [ "$status" = 0 ] || fail "run: exit $status: $(cat chain.err)"
    finished=$((finished + 1)); rm -rf chain; continue
  fi
  kills=$((kills + 1))
  if [ ! -f chain/checkpoint.npz ]; then before_first=$((before_first + 1)); continue; fi
  "$ALLCLOSE" chain/checkpoint.npz chain/checkpoint.npz 0 0 > /dev/null || fail "kill $kills: the checkpoint does not read"
  rm -rf check && cp -r chain check
  # A checkpoint at step 30 resumes too: the run is complete, and --save, the
  # checkpoint and loss.csv are written from it.
  "$REWIND" train "${args[@]}" --out-dir check --resume check/checkpoint.npz --save check.npz > /dev/null 2> err.log \
    || fail "kill $kills: resume failed: $(cat err.log)"
  resumed=$((resumed + 1))
  "$ALLCLOSE" check.npz ref.npz 0 0 || fail "kill $kills: resumed final weights differ"
  "$ALLCLOSE" check/checkpoint.npz ref/checkpoint.npz 0 0 || fail "kill $kills: resumed optimizer state differs"
  cmp -s check/loss.csv ref/loss.csv || fail "kill $kills: resumed loss history differs"
done
elapsed=$(( ($(date +%s%N) - begin) / 1000000 ))
echo "train_kill: $kills SIGKILLs ($resumed resumed to the end and matched bitwise, $before_first before the first" \
     "checkpoint, $finished runs finished first), run ${run_ms} ms, test ${elapsed} ms"
[ "$resumed" -ge 10 ] || fail "only $resumed of $kills kills left a checkpoint to resume (delays too short?)"
