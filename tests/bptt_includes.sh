#!/usr/bin/env bash
# bptt/ is an independent second opinion on nn/'s recurrent layers: it may
# include the standard library, xtensor, its own headers and autograd's
# kernels (blas, vector_math), Tensor values (tensor, engine for rwd::Error) and
# the explicit-instantiation macro (instantiate),
# never anything of nn/ (cells, fused steps) or optim/. Usage: bptt_includes.sh BPTT_DIR
set -u
dir=${1:?usage: bptt_includes.sh BPTT_DIR}
allowed='^#include (<[^>]+>|"[a-z_]+\.hpp"|"\.\./autograd/(blas|vector_math|tensor|engine|instantiate)\.hpp")$'
status=0
files=("$dir"/*.hpp "$dir"/*.cpp)
[ -e "${files[0]}" ] || { echo "no sources in $dir"; exit 1; }
while IFS= read -r line; do
  include=${line#*:*:}
  if ! [[ $include =~ $allowed ]]; then
    echo "bptt/ must not include this: $line"
    status=1
  fi
done < <(grep -Hn '^[[:space:]]*#[[:space:]]*include' "${files[@]}")
[ $status -eq 0 ] && echo "bptt/: ${#files[@]} files include only the standard library, xtensor, bptt/ and autograd's kernels"
exit $status
