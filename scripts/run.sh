#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# builds in Release, and runs the rewind program on its built-in default task.
# Arguments are passed to the program (default: none, the built-in task).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export OPENBLAS_NUM_THREADS=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target rewind_app
./build/rewind "$@"
