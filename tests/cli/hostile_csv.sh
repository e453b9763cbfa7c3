# A CSV file with a 1 GB line (issue 14): refused with one line naming the
# limit, after reading 16 MiB of it, under a 400 MB address-space limit (the
# file is sparse: no disk is used). The ASan build cannot start under such a
# limit (it maps terabytes of shadow memory); it runs the case without one.
source "$(dirname "$0")/common.sh"
printf 'a,b\n1,2\n' > huge.csv
truncate -s 1G huge.csv  # then ~1 GB of NUL bytes and no newline: one line
limit=(ulimit -v 400000)
(ulimit -v 400000; "$REWIND" --help > /dev/null 2>&1) || limit=(true)
status=0
("${limit[@]}"; exec "$REWIND" train --csv huge.csv --steps 1 --out-dir out) > /dev/null 2> err.log || status=$?
[ "$status" = 1 ] && [ "$(wc -l < err.log)" = 1 ] \
  && grep -q "huge.csv' line 3 is longer than 16777216 bytes (the limit; REWIND_CSV_MAX_LINE_BYTES raises it)" err.log \
  || fail "a 1 GB line: exit $status: $(cat err.log)"
[ ! -e out ] || fail "a 1 GB line: the run wrote its output folder"
# The limit is an environment variable away.
status=0
REWIND_CSV_MAX_LINE_BYTES=2 "$REWIND" train --csv huge.csv --steps 1 --out-dir out > /dev/null 2> err.log || status=$?
grep -q "line 1 is longer than 2 bytes" err.log || fail "REWIND_CSV_MAX_LINE_BYTES: exit $status: $(cat err.log)"
echo "hostile_csv: ok (${limit[*]})"
