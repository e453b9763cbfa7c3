# Shared by the MPI CLI tests: arguments, a fresh scratch folder, helpers.
# Arguments: rewind, npz_allclose, tests/data, a scratch folder, then the
# mpiexec command (with its flags) that starts processes.
set -euo pipefail
REWIND=$1 ALLCLOSE=$2 DATA=$3 WORK=$4
shift 4
MPIEXEC=("$@")
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
# mpi2 ARGS...: `rewind ARGS...` on 2 processes
mpi2() { "${MPIEXEC[@]}" -n 2 "$REWIND" "$@"; }
# mpi_each "ARGS OF RANK 0" "ARGS OF RANK 1": one process each, different arguments (MPMD)
mpi_each() {
  local a b
  read -r -a a <<< "$1"
  read -r -a b <<< "$2"
  "${MPIEXEC[@]}" -n 1 "$REWIND" "${a[@]}" : -n 1 "$REWIND" "${b[@]}"
}
# expect_error STATUS WORDS LOG: the run exited STATUS and LOG holds WORDS on one line
expect_error() {
  [ "$1" = "$4" ] || fail "expected exit $4, got $1: $(cat "$3")"
  grep -q -e "$2" "$3" || fail "expected '$2' in: $(cat "$3")"
}
# one_line LOG: exactly one line of LOG comes from rewind (mpiexec adds its own
# banner when a process exits non-zero)
one_line() { [ "$(grep -c '^rewind' "$1")" = 1 ]; }
