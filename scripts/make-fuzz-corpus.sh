#!/usr/bin/env bash
# Regenerates fuzz/corpus/<target>/, the seed corpus of the fuzz targets, from
# the files the tests use and write: tests/data, and a short `rewind train`
# run's checkpoint, CSV and text like the CLI tests'. Usage:
#   bash scripts/make-fuzz-corpus.sh [path/to/rewind]    (default build/rewind)
set -euo pipefail
cd "$(dirname "$0")/.."
rewind=$(realpath "${1:-build/rewind}")
data=$PWD/tests/data
out=$PWD/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out" && mkdir -p "$out"/{npy,npz,state_dict,optimizer_state,checkpoint,csv,text,predict,grads}

# The run the checkpoint target resumes (fuzz_checkpoint.cpp: gru_adam_init's
# model on x.npy/y.npy with Adam), and one with SGD's momentum state.
(cd "$work" && "$rewind" train --init "$data/train/gru_adam_init.npz" --input "$data/train/x.npy" \
   --target "$data/train/y.npy" --optimizer adam --lr 0.01 --steps 2 --out-dir adam --save adam_weights.npz > /dev/null
 "$rewind" train --init "$data/train/gru_adam_init.npz" --input "$data/train/x.npy" \
   --target "$data/train/y.npy" --optimizer sgd --lr 0.1 --momentum 0.9 --steps 2 --out-dir sgd > /dev/null)

cp "$data"/train/{x,y,classes,x_nan,x_wide}.npy "$out/npy/"
cp "$data"/{numpy_reference,numpy_reference_compressed,bad_header,truncated_entry}.npz "$out/npz/"
cp "$work/adam/checkpoint.npz" "$out/npz/checkpoint.npz"
cp "$data"/train/{gru_adam_init,gru_adam_expected,rnn_sgd_init}.npz "$work/adam_weights.npz" "$out/state_dict/"
cp "$work/adam/checkpoint.npz" "$out/optimizer_state/adam_checkpoint.npz"
cp "$work/sgd/checkpoint.npz" "$out/optimizer_state/sgd_checkpoint.npz"
cp "$work/adam/checkpoint.npz" "$out/checkpoint/adam.npz"
cp "$data"/train/{x,x_nan,x_wide,y}.npy "$out/predict/"

# grads: flags byte (bit 0: cross_entropy), x.npy's length (2 bytes LE), x.npy, y.npy.
grads_seed() {  # grads_seed FLAGS X Y OUT
  local n; n=$(stat -c %s "$2")
  { printf "\\x$(printf %02x "$1")\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8)))"; cat "$2" "$3"; } > "$4"
}
grads_seed 0 "$data/grads/rnn_tanh/x.npy" "$data/grads/rnn_tanh/y.npy" "$out/grads/mse"
grads_seed 1 "$data/grads/rnn_tanh/x.npy" "$data/train/classes.npy" "$out/grads/cross_entropy"

printf 'a,b\n1,2\n3.5,-4e-3\n# comment\n\n5,6\n' > "$out/csv/header.csv"
printf '0.1\n0.2\r\n0.3\n' > "$out/csv/one_column.csv"
printf '1,nan\n' > "$out/csv/nan.csv"
printf 'the quick brown fox jumps over the lazy dog\n' > "$out/text/fox.txt"
printf 'BTSSXXTVVEB\x00\xff' > "$out/text/bytes.txt"
echo "wrote $(find "$out" -type f | wc -l) seeds under $out ($(du -sh "$out" | cut -f1))"
