#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# missing, builds, runs every test; then does it again under AddressSanitizer
# + UndefinedBehaviorSanitizer; then the fuzz targets for a bounded number of
# runs and the thread tests under ThreadSanitizer. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export OPENBLAS_NUM_THREADS=1
jobs=$(nproc)

echo "== build (Release) and test"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure)

echo "== build (ASan + UBSan) and test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DREWIND_SANITIZE=ON \
      -DREWIND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-asan -j"$jobs"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# release_only: the SIGKILL and thread-count tests, whose point is the Release program (and which ASan slows 5x).
(cd build-asan && ctest -j"$jobs" --output-on-failure -LE "install|release_only")

echo "== fuzz targets (libFuzzer + ASan + UBSan, clang), bounded runs each"
bash scripts/fuzz.sh

echo "== ThreadSanitizer: the thread tests only"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DREWIND_TSAN=ON \
      -DREWIND_BUILD_APP=OFF -DREWIND_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target rewind_thread_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" build-tsan/tests/rewind_thread_tests
