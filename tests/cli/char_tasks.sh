# Next-character and numeric-sequence training: --task reber, --text FILE, --csv FILE;
# `rewind sample` from a character checkpoint; bad data refused in one line.
source "$(dirname "$0")/common.sh"
trained() {  # trained NAME ARGS...: a short run into NAME/ whose loss went down
  local name=$1; shift
  "$REWIND" train --steps 40 --hidden-size 16 --seq-len 20 --batch-size 8 --lr 0.02 --out-dir "$name" "$@" \
    > "$name.log" || fail "$name: exit $? ($(cat "$name.log"))"
  local first last
  first=$(csv_loss "$name/loss.csv" 1) last=$(csv_loss "$name/loss.csv" last)
  less "$last" "$first" || fail "$name: loss did not decrease ($first -> $last)"
  echo "$name: $first -> $last"
}

# The embedded Reber grammar: 7 symbols; cross-entropy starts near ln 7 ≈ 1.95.
trained reber --task reber --model lstm
first=$(csv_loss reber/loss.csv 1)
less 1.6 "$first" && less "$first" 2.3 || fail "reber: first loss $first is not near ln 7"
"$REWIND" sample --checkpoint reber/checkpoint.npz --prime BT --length 40 --temperature 0.5 --seed 3 > s1.txt \
  || fail "sample reber: $(cat s1.txt)"
"$REWIND" sample --checkpoint reber/checkpoint.npz --prime BT --length 40 --temperature 0.5 --seed 3 > s2.txt
cmp -s s1.txt s2.txt || fail "sample: the same seed gave different text"
grep -qE '^BT[BEPSTVX]{40}$' s1.txt || fail "sample reber: expected BT + 40 grammar symbols, got $(cat s1.txt)"
grep -qE '^embedded Reber grammar: [0-9]+ of [0-9]+ complete strings are grammatical$' s1.txt \
  || fail "sample reber: no grammar count: $(cat s1.txt)"

# A text file of the user's: its own vocabulary, stored in the checkpoint.
for k in $(seq 1 30); do printf 'the cat sat on the mat. '; done > text.txt
trained text --text text.txt --model gru
"$REWIND" sample --checkpoint text/checkpoint.npz --prime "the " --length 30 --seed 1 > s3.txt || fail "sample text"
grep -qE '^the [the casonm.]{30}$' s3.txt || fail "sample text: $(cat s3.txt)"

# A numeric CSV: a header, two columns, next-row regression.
{ echo "a,b"; for k in $(seq 0 99); do awk -v k="$k" 'BEGIN { printf "%.6f,%.6f\n", sin(0.3*k), cos(0.3*k) }'; done; } > wave.csv
trained csv --csv wave.csv
"$REWIND" predict --checkpoint csv/checkpoint.npz --input "$DATA/x.npy" --output o.npy > p.log || fail "predict: $(cat p.log)"
grep -q 'wrote o.npy \[6, 3, 2\]' p.log || fail "predict with the csv model: $(cat p.log)"

# Bad data: one line naming the file (and line), non-zero exit.
bad() {  # bad EXPECTED ARGS...
  local words=$1; shift
  local status=0
  "$REWIND" "$@" > out.log 2> err.log || status=$?
  [ "$status" != 0 ] || fail "exit 0 for: $*"
  [ "$(wc -l < err.log)" = 1 ] || fail "not one line for '$*': $(cat err.log)"
  grep -q -e "$words" err.log || fail "'$*': expected '$words' in: $(cat err.log)"
  echo "ok ($status): $(cat err.log)"
}
: > empty.txt
printf '1\n2\nnan\n4\n' > nan.csv
printf '1,2\n3,4\n5,x\n' > word.csv
printf '1,2\n3\n' > ragged.csv
bad "--text 'missing.txt': cannot open" train --text missing.txt --out-dir bad
bad "--text 'empty.txt': the file is empty" train --text empty.txt --out-dir bad
bad "--text 'text.txt' has 720 characters; --seq-len 800 needs at least 801" train --text text.txt --seq-len 800 --out-dir bad
bad "--csv 'nan.csv' line 3: NaN" train --csv nan.csv --out-dir bad
bad "--csv 'word.csv' line 3: 'x' is not a number" train --csv word.csv --out-dir bad
bad "--csv 'ragged.csv' line 2: 1 column(s), expected 2" train --csv ragged.csv --out-dir bad
bad "--csv 'missing.csv': cannot open" train --csv missing.csv --out-dir bad
bad "exclude each other" train --text text.txt --csv wave.csv --out-dir bad
bad "drop --task" train --task reber --text text.txt --out-dir bad
[ ! -e bad ] || fail "a refused run created its --out-dir"
bad "'Q' is not in the model's vocabulary" sample --checkpoint reber/checkpoint.npz --prime BQ
bad "temperature must be a finite number > 0" sample --checkpoint reber/checkpoint.npz --temperature 0
bad "a sine model is primed with a number of steps" sample --checkpoint csv/checkpoint.npz --prime abc
