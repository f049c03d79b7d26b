#!/usr/bin/env bash
# The demo: builds tinyq, generates synthetic inputs, then runs and benchmarks every bundled
# model (models/). Outputs go to out/demo/. Needs nothing outside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
OUT="out/demo"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" -j2 --target tinyq_cli
TINYQ="$BUILD_DIR/tinyq"
mkdir -p "$OUT"
node scripts/make-demo-data.js out/demo-data

run_model() {  # model inputs.npz bench-batch
  local model="$1" inputs="$2" batch="$3"
  echo "== $model"
  "$TINYQ" run --registry models/registry.json --model "$model" -v --inputs "out/demo-data/$inputs" --save "$OUT/$model.outputs.npz"
  "$TINYQ" bench --registry models/registry.json --model "$model" --inputs "out/demo-data/$inputs" --batch 1 --json | tee "$OUT/$model.bench.json"
  if [ "$batch" != 1 ]; then
    "$TINYQ" bench --registry models/registry.json --model "$model" --inputs "out/demo-data/$inputs" --batch "$batch" --json | tee "$OUT/$model.bench.b$batch.json"
  fi
}
run_model vmaf_tiny_v2 features.npz 4096
run_model vmaf_tiny_v3 features.npz 4096
run_model vmaf_tiny_v4 features.npz 4096
run_model fr_regressor_v1 features_standardised.npz 4096
run_model learned_filter_v1 degraded.npz 1
run_model nr_metric_v1 frame.npz 1
run_model smoke_v0 smoke.npz 1
echo "demo outputs in $OUT/"
