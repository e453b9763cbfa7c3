# The reproducible mode against PyTorch (tests/data/train/make_train_reference.py):
# 5 full-batch float64 steps from the same initial weights give the same weights (1e-9 rel).
source "$(dirname "$0")/common.sh"
check() {  # check NAME ARGS...
  local name=$1; shift
  "$REWIND" train --input "$DATA/x.npy" --init "$DATA/${name}_init.npz" --steps 5 --out-dir "$name" \
    --save "$name.npz" "$@" > "$name.log" || fail "$name: exit $? ($(cat "$name.log"))"
  "$ALLCLOSE" "$name.npz" "$DATA/${name}_expected.npz" 1e-9 1e-12 || fail "$name: differs from PyTorch"
}
check gru_adam --target "$DATA/y.npy" --optimizer adam --lr 0.01
check rnn_sgd --target "$DATA/y.npy" --optimizer sgd --lr 0.1 --momentum 0.9 --nesterov --clip-norm 0.5
check lstm_adamw_ce --target "$DATA/classes.npy" --loss cross_entropy --optimizer adamw --lr 0.02
