# `rewind gradcheck`: one passing row for every op, cell, layer, module and loss; exit 0; a summary line.
source "$(dirname "$0")/common.sh"
"$REWIND" gradcheck > table.txt || fail "exit $?: $(cat table.txt)"
row() {  # row GROUP NAME: the table has this row and it passed
  grep -E "^$1 +$(printf '%s' "$2" | sed 's/[().+]/\\&/g') +.* pass$" table.txt > /dev/null || fail "no passing row '$1 $2'"
}
for op in "add (broadcast)" matmul tanh sigmoid softmax log_softmax concat stack index_select; do row op "$op"; done
for cell in "RNNCell (tanh)" "RNNCell (relu)" LSTMCell GRUCell; do row cell "$cell"; done
for layer in "RNN (tanh)" "RNN (relu)" LSTM GRU "RNN (2 layers, bidir.)" "LSTM (2 layers, bidir.)" "GRU (2 layers, bidir.)"; do
  row layer "$layer"
done
row module Linear
row module LayerNorm
for op in gelu var layer_norm chunk; do row op "$op"; done
row module Embedding
row module "SequenceModel (lstm + head)"
for loss in mse_loss cross_entropy bce_with_logits; do row loss "$loss"; done
# every row passed, and the count adds up: rows = the summary's checks
grep -q 'FAIL' table.txt && fail "a check failed: $(grep FAIL table.txt)"
checks=$(tail -n 1 table.txt | sed -n 's/^\([0-9]*\) checks, 0 failed$/\1/p')
[ -n "$checks" ] || fail "summary: $(tail -n 1 table.txt)"
[ "$(grep -c ' pass$' table.txt)" = "$checks" ] || fail "$checks checks but $(grep -c ' pass$' table.txt) passing rows"
# parameters are checked too: the LSTM cell's row lists x, h, c and its 4 parameters
grep -E '^cell +LSTMCell +\[2, 3\] \[2, 4\] \[2, 4\] \+4 params' table.txt > /dev/null || fail "LSTMCell shapes"
echo "$checks checks passed"
