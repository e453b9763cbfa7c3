# Checkpoint writes that fail, and checkpoints that fail their checks (issue 14).
# CI runs as root, for whom a read-only directory is writable, so the failures
# come from a file-size limit (EFBIG, as a full disk gives ENOSPC: the write
# fails) and from an output path under a regular file.
source "$(dirname "$0")/common.sh"
args=(--hidden-size 6 --seq-len 12 --batch-size 4 --checkpoint-every 1 --log-every 1000)
"$REWIND" train "${args[@]}" --steps 5 --out-dir out > /dev/null || fail "first run"
cp out/checkpoint.npz good.npz

# 1. The disk refuses the write (ulimit -f: EFBIG, with SIGXFSZ ignored so the
#    write fails instead of killing): one-line error, the previous checkpoint
#    untouched, no temporary file left behind.
status=0
(trap '' XFSZ; ulimit -f 2; exec "$REWIND" train "${args[@]}" --steps 10 --out-dir out --resume out/checkpoint.npz) \
  > /dev/null 2> err.log || status=$?
[ "$status" = 1 ] || fail "a full disk: exit $status, expected 1: $(cat err.log)"
[ "$(wc -l < err.log)" = 1 ] && grep -q "checkpoint.npz: cannot write the temporary file: File too large" err.log \
  || fail "a full disk: $(cat err.log)"
cmp -s out/checkpoint.npz good.npz || fail "a full disk: the previous checkpoint changed"
[ -z "$(ls -A out | grep '\.tmp\.')" ] || fail "a full disk: a temporary file was left: $(ls -A out)"
"$REWIND" train "${args[@]}" --steps 10 --out-dir out --resume out/checkpoint.npz > /dev/null \
  || fail "resuming after the failed write"

# 2. The output folder cannot be created (its parent is a regular file).
touch plain_file
status=0
"$REWIND" train "${args[@]}" --steps 3 --out-dir plain_file/out > /dev/null 2> err.log || status=$?
[ "$status" = 1 ] && [ "$(wc -l < err.log)" = 1 ] && grep -q "plain_file/out" err.log \
  || fail "an uncreatable --out-dir: exit $status: $(cat err.log)"

# 3. A checkpoint that fails its checks is refused before anything is written:
#    a flipped byte (CRC or structure checks), a truncated file.
corrupt() {  # corrupt LABEL EXPECTED FILE
  mkdir -p "resume_$1" && cp "$3" "resume_$1/checkpoint.npz"
  local before; before=$(cksum < "resume_$1/checkpoint.npz")
  status=0
  "$REWIND" train "${args[@]}" --steps 10 --out-dir "resume_$1" --resume "resume_$1/checkpoint.npz" \
    > /dev/null 2> err.log || status=$?
  [ "$status" = 1 ] && grep -q "$2" err.log || fail "$1: exit $status: $(cat err.log)"
  [ "$(cksum < "resume_$1/checkpoint.npz")" = "$before" ] || fail "$1: the checkpoint was overwritten"
  [ ! -e "resume_$1/loss.csv" ] || fail "$1: the run started"
}
size=$(stat -c %s good.npz)
cp good.npz flipped.npz
printf '\x55' | dd of=flipped.npz bs=1 seek=$((size / 2)) conv=notrunc status=none
corrupt flipped "corrupt\|CRC\|invalid\|truncated\|not a\|mismatch" flipped.npz
head -c $((size - 100)) good.npz > truncated.npz
corrupt truncated "corrupt or truncated\|not a zip" truncated.npz
echo "train_write_errors: ok"
