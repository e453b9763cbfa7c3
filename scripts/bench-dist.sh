#!/usr/bin/env bash
# Data-parallel training over MPI: time per training step (forward, MSE,
# backward, gradient exchange, Adam) at B=64, T=200, H=512 (float32), RNN and
# LSTM, for
#   1 process  × 1 BLAS thread   (the baseline)
#   2 processes × 1 BLAS thread  (mpirun -np 2; each takes 32 sequences)
#   1 process  × 2 BLAS threads  (OPENBLAS_NUM_THREADS=2)
#   1 process  × 2 threads       (--threads 2: each thread 32 sequences, its own
#                                 copy of the model; optim/data_parallel.hpp)
# The four run in turn, ROUNDS times (default 5), so machine noise hits all
# alike; the table gives each one's median step time (wall clock), its
# throughput relative to the baseline, and the parallel efficiency
# (speed-up / 2). The machine is shared: compare within one run. When it is
# loaded (other jobs running), the processes do not each get a core and wall
# times say little; the last columns then compare CPU times of the
# computation (the slowest rank's, without the exchange): what 2 free cores give.
#   bash scripts/bench-dist.sh                    # RNN and LSTM, 5 rounds
#   ROUNDS=3 MODELS=rnn bash scripts/bench-dist.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh libbenchmark-dev nlohmann-json3-dev
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DREWIND_BUILD_BENCHMARKS=ON -DREWIND_BUILD_TESTS=OFF \
      -DREWIND_BUILD_EXAMPLES=OFF -DREWIND_BUILD_APP=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target rewind_bench_data_parallel
bench=./build-bench/benchmarks/data_parallel/rewind_bench_data_parallel
rounds=${ROUNDS:-5}
models=${MODELS:-rnn lstm}
args=(--batch 64 --seq-len 200 --hidden 512 --warmup 1)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader \
       OMPI_MCA_btl_vader_single_copy_mechanism=none
mkdir -p build-bench/results
log=build-bench/results/bench-dist-$(date -u +%Y%m%dT%H%M%SZ).txt
echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores" | tee "$log"
for model in $models; do
  steps=4
  [ "$model" = lstm ] && steps=2
  for round in $(seq "$rounds"); do
    echo "$model round $round/$rounds" >&2
    OPENBLAS_NUM_THREADS=1 "$bench" --model "$model" --steps "$steps" "${args[@]}" | sed 's/^/1x1 /' >> "$log"
    mpirun -np 2 --bind-to none -x OPENBLAS_NUM_THREADS=1 "$bench" --model "$model" --steps "$steps" "${args[@]}" \
      | sed 's/^/2x1 /' >> "$log"
    OPENBLAS_NUM_THREADS=2 "$bench" --model "$model" --steps "$steps" "${args[@]}" | sed 's/^/1x2 /' >> "$log"
    OPENBLAS_NUM_THREADS=1 "$bench" --model "$model" --steps "$steps" --threads 2 "${args[@]}" | sed 's/^/1t2 /' >> "$log"
  done
done
echo
echo "raw lines: $log"
# Table: the median over rounds of each round's median step time.
awk '
  / model=/ {
    config = $1; for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    key = f["model"] " " config; n[key]++; t[key, n[key]] = f["median_ms"]; cpu[key, n[key]] = f["cpu_ms"]
    if (config == "2x1") { x[f["model"]] = x[f["model"]] " " f["exchange_ms"] }
    models[f["model"]] = 1
  }
  function med(key, oncpu,   m, i, j, v, tmp) {
    m = n[key]; for (i = 1; i <= m; i++) v[i] = oncpu ? cpu[key, i] : t[key, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (v[j] < v[i]) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
    return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  }
  END {
    print "| model (B=64, T=200, H=512, float32) | processes × threads | step, ms (median, wall) | throughput vs 1×1 | parallel efficiency | compute CPU ms (slowest rank; threads: per thread) | CPU-time speed-up |"
    print "|---|---|---|---|---|---|---|"
    for (m in models) {
      base = med(m " 1x1", 0); cbase = med(m " 1x1", 1)
      split("1x1 2x1 1x2 1t2", cs, " ")
      for (ci = 1; ci <= 4; ci++) {
        k = m " " cs[ci]; v = med(k, 0); s = base / v; cv = med(k, 1)
        printf "| %s | %s | %.1f | %.2f× | %s | %s | %s |\n", m, (cs[ci] == "1x1" ? "1 × 1" : cs[ci] == "2x1" ? "2 × 1 (mpirun)" : cs[ci] == "1x2" ? "1 × 2 BLAS threads" : "1 × 2 (--threads 2)"), v, s, (cs[ci] == "1x1" ? "–" : sprintf("%.0f %%", 100 * s / 2)), (cs[ci] == "1x2" ? "–" : sprintf("%.1f", cv)), (cs[ci] == "2x1" || cs[ci] == "1t2" ? sprintf("%.2f×", cbase / cv) : "–")
      }
      printf "(%s: gradient exchange alone, ms, per round:%s)\n", m, x[m]
    }
  }' "$log" | tee -a "$log"
