#!/usr/bin/env bash
# Benchmarks: builds in Release with Google Benchmark and prints the table.
# Extra arguments go to the benchmark binary (e.g. --benchmark_filter=tiny).
# The JSON result is kept in build-bench/bench.json for comparison across commits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh libbenchmark-dev
export OPENBLAS_NUM_THREADS=1
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DREWIND_BUILD_BENCHMARKS=ON -DREWIND_BUILD_TESTS=OFF \
      -DREWIND_BUILD_EXAMPLES=OFF -DREWIND_BUILD_APP=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target rewind_bench
./build-bench/benchmarks/rewind_bench --benchmark_out=build-bench/bench.json --benchmark_out_format=json "$@"
