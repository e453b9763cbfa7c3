# tests/dist/rank_throws.cpp on 2 processes: the job ends (no hang), non-zero,
# and the message names the rank and the cause.
set -euo pipefail
program=$1
shift
status=0
"$@" -n 2 "$program" > out.log 2> err.log || status=$?
[ "$status" != 0 ] || { echo "FAIL: exit 0: $(cat out.log err.log)"; exit 1; }
grep -q "rank_throws: rank 1 of 2: step 3: something went wrong on this rank" err.log \
  || { echo "FAIL: message: $(cat err.log)"; exit 1; }
grep -q "finished" out.log && { echo "FAIL: rank 0 finished"; exit 1; }
cat err.log
