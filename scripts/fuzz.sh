#!/usr/bin/env bash
# The libFuzzer targets of fuzz/ (issue 14), in their own clang build (build-fuzz).
#   bash scripts/fuzz.sh                  CI: every target for FUZZ_RUNS executions (default
#                                         20000) or FUZZ_SECONDS seconds (default 10) whichever
#                                         comes first, after replaying fuzz/regressions/
#   bash scripts/fuzz.sh TARGET RUNS      one target for RUNS executions (-1: until stopped)
# Any crash, sanitizer report, leak, timeout (10 s) or allocation over 2 GB
# fails the run; libFuzzer writes the input to build-fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
# The library but the readers comes from the Release build (see fuzz/CMakeLists.txt).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)" --target rewind
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DREWIND_FUZZ=ON -DREWIND_FUZZ_LIBRARY="$PWD/build/librewind.a" -DREWIND_BUILD_TESTS=OFF -DREWIND_BUILD_APP=OFF \
  -DREWIND_BUILD_EXAMPLES=OFF > /dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all
export OPENBLAS_NUM_THREADS=1
# The targets write their input to a scratch file (and predict/grads write and fsync outputs): keep that in memory.
[ -z "${TMPDIR:-}" ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p build-fuzz/artifacts build-fuzz/logs
fuzz() {  # fuzz TARGET RUNS [SECONDS]
  local corpus=build-fuzz/corpus/$1
  mkdir -p "$corpus"
  local regressions=(); [ -d "fuzz/regressions/$1" ] && regressions=("fuzz/regressions/$1"/*)
  if ((${#regressions[@]})); then  # the inputs of past crashes, once each
    build-fuzz/fuzz/fuzz_"$1" -close_fd_mask=1 "${regressions[@]}" > "build-fuzz/logs/$1-regressions.log" 2>&1 \
      || { tail -n 60 "build-fuzz/logs/$1-regressions.log"; echo "fuzz_$1: a regression input fails" >&2; return 1; }
  fi
  local limits=(-runs="$2"); [ -n "${3:-}" ] && limits+=(-max_total_time="$3")
  echo "== fuzz_$1"
  local status=0 log=build-fuzz/logs/$1.log
  build-fuzz/fuzz/fuzz_"$1" "${limits[@]}" -timeout=10 -rss_limit_mb=2048 -close_fd_mask=1 -print_final_stats=1 \
    -artifact_prefix="build-fuzz/artifacts/$1-" "$corpus" "fuzz/corpus/$1" > "$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::new_units_added|Done [0-9]+ runs)" "$log" || true
  if ((status)); then
    tail -n 80 "$log"
    echo "fuzz_$1: FAILED (exit $status); the input is in build-fuzz/artifacts/" >&2
    return 1
  fi
}
if (($#)); then
  fuzz "$1" "$2"
else
  for target in npy npz state_dict optimizer_state checkpoint csv text predict grads; do
    fuzz "$target" "${FUZZ_RUNS:-20000}" "${FUZZ_SECONDS:-10}"
  done
fi
