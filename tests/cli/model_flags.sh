# `rewind train --input` takes rewind grads' size flags: optional, and checked
# against the data (x.npy [6, 3, 2], y.npy [6, 3, 2]) and the --init weights.
source "$(dirname "$0")/common.sh"
run() { "$REWIND" train --input "$DATA/x.npy" --target "$DATA/y.npy" --steps "${STEPS:-2}" --out-dir "${OUT:-out}" "$@"; }
run --model gru --input-size 2 --output-size 2 --hidden-size 4 > ok.log || fail "matching sizes refused: $(cat ok.log)"
run --model gru --init "$DATA/gru_adam_init.npz" --input-size 2 --output-size 2 > init.log \
  || fail "matching sizes with --init refused: $(cat init.log)"
run --model gru > none.log || fail "no size flags (as before) refused: $(cat none.log)"
status=0; run --input-size 3 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- '--input-size is 3, but the data have 2 input features' err.log \
  || fail "--input-size mismatch: $status $(cat err.log)"
status=0; run --output-size 5 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- '--output-size is 5, but the data have 2' err.log || fail "--output-size mismatch: $(cat err.log)"
status=0; run --init "$DATA/gru_adam_init.npz" --output-size 3 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- "has 2 outputs (head.weight), but --output-size is 3" err.log \
  || fail "--output-size against --init: $(cat err.log)"

# The layer flags (--bidirectional, --no-bias, --nonlinearity), as rewind grads has them: the
# checkpoint keeps them, so --resume, predict, grads and sample use such a model.
OUT=bi run --model gru --bidirectional --no-bias --hidden-size 3 > bi.log || fail "bidirectional, no bias: $(cat bi.log)"
grep -q 'gru (1 layer, hidden 3, bidirectional, no bias)' bi.log || fail "the run does not say its layer: $(cat bi.log)"
OUT=bi STEPS=4 run --resume bi/checkpoint.npz > resume.log || fail "--resume of it: $(cat resume.log)"
grep -q 'bidirectional, no bias' resume.log || fail "--resume lost the layer flags: $(cat resume.log)"
"$REWIND" predict --checkpoint bi/checkpoint.npz --input "$DATA/x.npy" --output o.npy > predict.log \
  || fail "predict: $(cat predict.log)"
grep -q 'wrote o.npy \[6, 3, 2\]' predict.log || fail "predict output: $(cat predict.log)"
"$REWIND" grads --model gru --input-size 2 --hidden-size 3 --output-size 2 --bidirectional --no-bias \
  --state bi/checkpoint.npz --input "$DATA/x.npy" --target "$DATA/y.npy" --loss mse --out g.npz > grads.log \
  || fail "grads: $(cat grads.log)"
grep -q 'g.npz' grads.log || fail "grads output: $(cat grads.log)"
status=0; "$REWIND" grads --model gru --input-size 2 --hidden-size 3 --output-size 2 --state bi/checkpoint.npz \
  --input "$DATA/x.npy" --target "$DATA/y.npy" --loss mse --out g2.npz 2> err.log || status=$?
[ "$status" = 1 ] && grep -q "unexpected 'rnn.weight_hh_l0_reverse'" err.log || fail "grads without the flags: $(cat err.log)"
"$REWIND" train --model lstm --bidirectional --no-bias --steps 2 --seq-len 8 --batch-size 2 --hidden-size 3 \
  --out-dir bisine > bisine.log || fail "sine, bidirectional: $(cat bisine.log)"
"$REWIND" sample --checkpoint bisine/checkpoint.npz --prime 4 --length 3 --out s.csv > sample.log \
  || fail "sample: $(cat sample.log)"
[ "$(wc -l < s.csv)" = 8 ] || fail "sample.csv rows"
"$REWIND" train --model rnn --nonlinearity relu --steps 2 --seq-len 8 --batch-size 2 --hidden-size 3 --out-dir relu \
  --save relu.npz > relu.log || fail "relu: $(cat relu.log)"
# the relu is kept (train.nonlinearity) in the checkpoint and the --save file
"$REWIND" train --init relu.npz --steps 1 --seq-len 8 --batch-size 2 --out-dir relu2 > relu2.log || fail "--init relu.npz"
grep -q 'rnn (1 layer, hidden 3, relu)' relu2.log || fail "--init lost the relu: $(cat relu2.log)"

# mismatches: one line each, exit 1
refused() {  # refused MESSAGE ARGS...
  local message=$1; shift
  status=0; "$REWIND" train --steps 2 --seq-len 8 --batch-size 2 --out-dir refused "$@" > /dev/null 2> err.log || status=$?
  [ "$status" = 1 ] && [ "$(wc -l < err.log)" = 1 ] && grep -q -- "$message" err.log \
    || fail "$* : $status $(cat err.log)"
}
refused "holds a unidirectional model (no rnn.weight_hh_l0_reverse), but --bidirectional is given" --init relu.npz --bidirectional
refused "has recurrent biases (rnn.bias_ih_l0), but --no-bias is given" --init relu.npz --no-bias
refused "holds a relu rnn (train.nonlinearity), but --nonlinearity is tanh" --resume relu/checkpoint.npz --nonlinearity tanh
refused "nonlinearity: only the rnn model has one, got relu for lstm" --model lstm --nonlinearity relu
status=0; OUT=refused run --init "$DATA/gru_adam_init.npz" --nonlinearity relu 2> err.log || status=$?
[ "$status" = 1 ] && grep -q -- "only the rnn model has one, got relu for gru (the model of --init" err.log \
  || fail "--nonlinearity relu with a GRU's --init: $status $(cat err.log)"
refused "nonlinearity: expected tanh or relu, got 'sigmoid'" --nonlinearity sigmoid
refused "--tbptt does not apply to a bidirectional model" --bidirectional --tbptt 4
echo "model flags: checked against the data and --init; layer flags kept by the checkpoint"
