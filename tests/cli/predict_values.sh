# `rewind predict`'s output values (issue 14): predict with the weights of
# tests/data/grads/rnn_tanh on its x; then `rewind grads` with predict's
# output as the mse target must give a loss of exactly 0 -- so predict's values
# are bitwise the forward pass that grads.sh checks against PyTorch's loss and
# gradients -- and with the real target, PyTorch's loss (expected.npz).
source "$(dirname "$0")/common.sh"
case_dir="$DATA/../grads/rnn_tanh"
"$REWIND" predict --checkpoint "$case_dir/weights.npz" --input "$case_dir/x.npy" --output o.npy > p.log \
  || fail "predict: $(cat p.log)"
grads() {  # grads TARGET OUT
  # shellcheck disable=SC2046
  "$REWIND" grads $(cat "$case_dir/args") --state "$case_dir/weights.npz" --input "$case_dir/x.npy" --target "$1" \
    --out "$2"
}
grads o.npy self.npz > self.log || fail "grads on predict's output: $(cat self.log)"
grep -q '^loss 0 (' self.log || fail "predict's output is not the model's forward pass: $(cat self.log)"
# The check can fail: one changed byte of the last output value gives a positive loss.
cp o.npy changed.npy
printf '\x3f' | dd of=changed.npy bs=1 seek=$(( $(stat -c %s o.npy) - 2 )) conv=notrunc status=none
grads changed.npy changed.npz > changed.log || fail "grads on the changed output: $(cat changed.log)"
! grep -q '^loss 0 (' changed.log || fail "a changed output still gave loss 0"
grads "$case_dir/y.npy" real.npz > real.log || fail "grads: $(cat real.log)"
"$ALLCLOSE" real.npz "$case_dir/expected.npz" 1e-10 1e-12 > /dev/null || fail "the model differs from PyTorch's"
echo "predict_values: ok"
