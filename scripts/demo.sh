#!/usr/bin/env bash
# The demo, on a copy of the bundled models (out/demo/models/; the repository's models/ is never
# written) and nothing outside the repository:
#   1. quantise: every model whose quant_mode is not fp32 is made again, from scratch, with the
#      recipe `tinyq tune` recorded in its notes; the copy's registry (digests included) must come
#      out byte-identical to the committed one;
#   2. gate: int8 against fp32 on each model's bundled fixtures (digests verified on load);
#   3. audit: out/demo/audit/report.md and report.html (scatter plots, per-layer SQNR);
#   4. run and bench every bundled model through the registry (int8 where it is tuned).
# BUILD_DIR (default build-demo) holds a lean build: the CLI only, without QAT (libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-demo}"
OUT="out/demo"
START=$SECONDS

cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DTINYQ_WITH_QAT=OFF -DTINYQ_BUILD_TESTS=OFF \
  -DTINYQ_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD_DIR" -j2 --target tinyq_cli
TINYQ="$BUILD_DIR/tinyq"
BUILT=$SECONDS

rm -rf "$OUT"
mkdir -p "$OUT"
cp -r models "$OUT/models"
REG="$OUT/models/registry.json"
rm -f "$OUT"/models/*.int8.onnx

# The entries tune chose a quant_mode for (node ships with the repository's ONNX Runtime peer).
TUNED=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.models.filter((m) => (m.quant_mode || "fp32") !== "fp32").map((m) => m.id).join(" "));' "$REG")

echo "== quantise: $TUNED"
for id in $TUNED; do
  "$TINYQ" tune --registry "$REG" --model "$id" --replay
done
if ! cmp -s "$REG" models/registry.json; then
  echo "demo: re-quantising changed the registry's digests (diff below); quantisation is not reproducible" >&2
  diff models/registry.json "$REG" >&2 || true
  exit 1
fi
echo "digests equal the committed ones"

echo "== gate"
"$TINYQ" gate --registry "$REG" --all --json "$OUT/gate.json"

echo "== audit"
"$TINYQ" audit --registry "$REG" -o "$OUT/audit"
GATED=$SECONDS

echo "== run and bench"
node scripts/make-demo-data.js out/demo-data
run_model() {  # model inputs.npz bench-batch
  local model="$1" inputs="$2" batch="$3"
  echo "-- $model"
  "$TINYQ" run --registry "$REG" --model "$model" -v --inputs "$inputs" --save "$OUT/$model.outputs.npz"
  "$TINYQ" bench --registry "$REG" --model "$model" --inputs "$inputs" --batch 1 --json | tee "$OUT/$model.bench.json"
  if [ "$batch" != 1 ]; then
    "$TINYQ" bench --registry "$REG" --model "$model" --inputs "$inputs" --batch "$batch" --json | tee "$OUT/$model.bench.b$batch.json"
  fi
}
run_model vmaf_tiny_v2 out/demo-data/features.npz 4096
run_model vmaf_tiny_v3 out/demo-data/features.npz 4096
run_model vmaf_tiny_v4 out/demo-data/features.npz 4096
run_model fr_regressor_v1 out/demo-data/features_standardised.npz 4096
run_model learned_filter_v1 models/data/learned_filter_v1.fixtures.npz 1
run_model nr_metric_v1 models/data/nr_metric_v1.fixtures.npz 1
run_model frame_mlp_v1 models/data/frame_mlp_v1.fixtures.npz 4096
run_model smoke_v0 out/demo-data/smoke.npz 1

echo "demo: build $((BUILT - START)) s, quantise+gate+audit $((GATED - BUILT)) s, run+bench $((SECONDS - GATED)) s;" \
  "outputs in $OUT/ (audit report: $OUT/audit/report.html)"
