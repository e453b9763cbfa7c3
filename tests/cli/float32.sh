# float32 wherever a model goes: `rewind train --dtype float32` (a text LSTM and
# a sine GRU), then sample, predict (a float64 x.npy, numpy's default, is
# converted and said so) and grads (a float32 checkpoint as --state).
source "$(dirname "$0")/common.sh"
awk 'BEGIN { for (i = 0; i < 40; i++) printf "the cat sat on the mat. " }' > text.txt
"$REWIND" train --text text.txt --model lstm --dtype float32 --steps 5 --hidden-size 8 --seq-len 12 --batch-size 4 \
  --out-dir text > train_text.log || fail "train --text float32: $(cat train_text.log)"
"$REWIND" sample --checkpoint text/checkpoint.npz --prime "the " --length 20 > sample_text.log \
  || fail "sample float32 text: $(cat sample_text.log)"
grep -q '^the ' sample_text.log || fail "sample text output: $(cat sample_text.log)"
"$REWIND" train --task sine --model gru --dtype float32 --steps 5 --hidden-size 6 --seq-len 12 --batch-size 3 \
  --out-dir sine > train_sine.log || fail "train sine float32: $(cat train_sine.log)"
"$REWIND" sample --checkpoint sine/checkpoint.npz --prime 5 --length 7 --out s.csv > sample_sine.log \
  || fail "sample float32 sine: $(cat sample_sine.log)"
[ "$(wc -l < s.csv)" = 13 ] || fail "sample.csv rows"
# A float64 [T, B, 1] x.npy and y.npy, written byte by byte as numpy.save does (format 1.0, '<f8').
write_npy() {  # path, T, B, values...
  local path=$1 T=$2 B=$3; shift 3
  local header="{'descr': '<f8', 'fortran_order': False, 'shape': ($T, $B, 1), }"
  local pad=$(( 64 - (10 + ${#header} + 1) % 64 ))
  { printf '\x93NUMPY\x01\x00'; printf "\\x$(printf %02x $(( (${#header} + pad + 1) % 256 )))\\x$(printf %02x $(( (${#header} + pad + 1) / 256 )))"
    printf '%s%*s\n' "$header" "$pad" ''
    for v in "$@"; do python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<d', $v))"; done; } > "$path"
}
write_npy x.npy 4 2 0.1 -0.2 0.3 0.4 -0.5 0.6 0.7 -0.8
write_npy y.npy 4 2 0.2 0.1 -0.3 0.5 0.4 -0.6 0.1 0.2
"$REWIND" predict --checkpoint sine/checkpoint.npz --input x.npy --output o.npy > predict.log \
  || fail "predict float32 model, float64 input: $(cat predict.log)"
grep -q 'is float64, converted to the model.s float32' predict.log || fail "predict note: $(cat predict.log)"
grep -q 'wrote o.npy \[4, 2, 1\]' predict.log || fail "predict output: $(cat predict.log)"
"$REWIND" grads --model gru --input-size 1 --hidden-size 6 --output-size 1 --state sine/checkpoint.npz \
  --input x.npy --target y.npy --loss mse --out g.npz > grads.log || fail "grads float32 checkpoint: $(cat grads.log)"
grep -q '(float32, 6 parameters)' grads.log || fail "grads precision: $(cat grads.log)"
# the float64 path still works the same way
"$REWIND" train --task sine --model gru --steps 3 --hidden-size 6 --seq-len 12 --batch-size 3 --out-dir sine64 \
  > train64.log || fail "train float64"
"$REWIND" grads --model gru --input-size 1 --hidden-size 6 --output-size 1 --state sine64/checkpoint.npz \
  --input x.npy --target y.npy --loss mse --out g64.npz > grads64.log || fail "grads float64: $(cat grads64.log)"
grep -q '(float64, 6 parameters)' grads64.log || fail "grads64 precision: $(cat grads64.log)"
echo "float32: train -> sample -> predict -> grads ok"
