#!/usr/bin/env bash
# Benchmarks: builds in Release with Google Benchmark, runs every row and prints
# the summary table (ratios tape/hand, ops_loop/hand, torch/tape, % of GEMM,
# tiny-op cost, tape memory, heap allocations per step, an end-to-end training
# run of the rewind program). Rows run 3 times, randomly interleaved; the
# tables show medians. The machine line names the OpenBLAS kernel in use
# (OPENBLAS_CORETYPE is left as the environment sets it). With libtorch installed (libtorch-dev) the same
# configurations also run through libtorch (-DREWIND_WITH_LIBTORCH=ON).
#   bash scripts/bench.sh                          # default subset, a few minutes
#   bash scripts/bench.sh --full                   # the full B × T × H grid (or REWIND_BENCH_FULL=1)
#   bash scripts/bench.sh --benchmark_filter=tiny  # other arguments go to the benchmark binary
#   REWIND_BENCH_THREADS=2 bash scripts/bench.sh   # BLAS and libtorch on 2 threads (times in wall clock)
# The JSON result is kept in build-bench/bench.json (and a dated copy in
# build-bench/results/) for comparison across commits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh libbenchmark-dev nlohmann-json3-dev
cores=$(getconf _NPROCESSORS_ONLN)
threads=${REWIND_BENCH_THREADS:-1}
export REWIND_BENCH_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
with_torch=OFF
dpkg-query -W -f='${Status}' libtorch-dev 2>/dev/null | grep -q "install ok installed" && with_torch=ON
# The app is built too: the end-to-end row (train/…) runs the rewind program.
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DREWIND_BUILD_BENCHMARKS=ON -DREWIND_BUILD_TESTS=OFF \
      -DREWIND_BUILD_EXAMPLES=OFF -DREWIND_BUILD_APP=ON -DREWIND_WITH_LIBTORCH="$with_torch" >/dev/null
cmake --build build-bench -j"$cores" --target rewind_app rewind_bench rewind_bench_summary

model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
family=$(lscpu | sed -n 's/^CPU family:[[:space:]]*//p' | head -1)
model_number=$(lscpu | sed -n 's/^Model:[[:space:]]*//p' | head -1)
simd=""
grep -qw avx512f /proc/cpuinfo && simd="; AVX-512"
model="$model (family $family model $model_number$simd)"
openblas=$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || dpkg-query -W -f='${Version}' libopenblas0 2>/dev/null || echo '?')
# (Google Benchmark splits --benchmark_context at commas: none in the value.)
machine="$model; $cores cores; OpenBLAS $openblas; load average before the run $(cut -d' ' -f1-3 /proc/loadavg)"
machine=${machine//,/}
mkdir -p build-bench/results
# Every row 3 times in random order, medians reported (run-to-run noise at the
# large sizes reaches ±30 % on a shared machine); arguments given override these.
./build-bench/benchmarks/rewind_bench --benchmark_out=build-bench/bench.json --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true \
    --benchmark_context=machine="$machine" "$@"
cp build-bench/bench.json "build-bench/results/bench-$(date -u +%Y%m%dT%H%M%SZ)-$(git rev-parse --short HEAD 2>/dev/null || echo nogit).json"
echo
./build-bench/benchmarks/rewind_bench_summary build-bench/bench.json
