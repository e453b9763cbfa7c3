# A short run of each model on each task: exit 0, the files exist, the loss went down.
source "$(dirname "$0")/common.sh"
run() {  # run NAME ARGS...: trains into NAME/, checks the CSV has 20 rows and a lower final loss
  local name=$1; shift
  "$REWIND" train --steps 20 --hidden-size 8 --seq-len 20 --batch-size 8 --out-dir "$name" "$@" > "$name.log" \
    || fail "$name: exit $? ($(cat "$name.log"))"
  [ -f "$name/loss.csv" ] && [ -f "$name/checkpoint.npz" ] || fail "$name: missing loss.csv or checkpoint.npz"
  [ "$(wc -l < "$name/loss.csv")" = 21 ] || fail "$name: expected 20 rows in loss.csv"
  grep -q -e 'plot:' -e 'no plot: gnuplot is not on PATH' "$name.log" || fail "$name: no word about the plot"
  local first last
  first=$(csv_loss "$name/loss.csv" 1) last=$(csv_loss "$name/loss.csv" last)
  less "$last" "$first" || fail "$name: loss did not decrease ($first -> $last)"
  echo "$name: $first -> $last"
}
run rnn_sine --model rnn --lr 0.01
run lstm_sine --model lstm --lr 0.02 --num-layers 2
run gru_tbptt --model gru --lr 0.02 --tbptt 5 --clip-norm 1
run rnn_adding --task adding --model rnn --optimizer rmsprop --lr 0.003
run sgd_float --model rnn --optimizer sgd --lr 0.1 --momentum 0.9 --dtype float32
