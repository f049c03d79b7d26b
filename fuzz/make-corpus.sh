#!/usr/bin/env bash
# Makes the seed corpora for the fuzz targets (never committed; they go in a build folder):
#   fuzz/make-corpus.sh OUT_DIR      -> OUT_DIR/onnx_load, OUT_DIR/registry, OUT_DIR/npz
# Seeds: the zoo (../shared/zoo beside the repo, or TINYQ_SHARED_DIR/zoo) and the bundled models,
# Debian's ONNX node-test models (libonnx-testdata), registries and sidecars, and .npy/.npz files
# (members of the zoo's archives are extracted with unzip when it is installed). Files over
# MAX_SEED_BYTES (default 1 MiB) are skipped: large seeds slow every mutation down.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: $0 OUT_DIR}"
shared="${TINYQ_SHARED_DIR:-$repo/../shared}"
zoo="$shared/zoo"
node_tests="${ONNX_NODE_TESTS:-/usr/share/libonnx-testdata/data/node}"
max_bytes="${MAX_SEED_BYTES:-1048576}"
mkdir -p "$out/onnx_load" "$out/registry" "$out/npz"

# Copies a file into a corpus under a name made from its path (corpus names must be unique).
seed() {
  local corpus="$1" file="$2"
  [ -f "$file" ] || return 0
  [ "$(stat -c %s "$file")" -le "$max_bytes" ] || return 0
  local name="${file#"$repo"/}"
  name="${name#"$shared"/}"
  name="${name#"$node_tests"/}"
  cp "$file" "$out/$corpus/${name//\//_}"
}

for f in "$repo"/models/*.onnx "$zoo"/models/*.onnx "$node_tests"/*/model.onnx; do seed onnx_load "$f"; done
for f in "$repo"/models/registry.json "$repo"/schemas/*.json "$zoo"/models/*.json "$zoo"/fixtures/*.json; do
  seed registry "$f"
done
for f in "$zoo"/fixtures/*.npz "$zoo"/reference/*.npz; do seed npz "$f"; done
if command -v unzip >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  for f in "$zoo"/fixtures/*.npz "$zoo"/reference/*.npz; do
    [ -f "$f" ] || continue
    dir="$tmp/$(basename "$f" .npz)"
    mkdir -p "$dir"
    unzip -q -o "$f" -d "$dir" 2>/dev/null || continue
    for m in "$dir"/*.npy; do seed npz "$m"; done
  done
fi
for c in onnx_load registry npz; do
  echo "$c: $(find "$out/$c" -type f | wc -l) seeds, $(du -sh "$out/$c" | cut -f1)"
done
