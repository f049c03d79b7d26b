#!/usr/bin/env bash
# CI step: the accuracy gate on the project's own registry (models/registry.json): every model
# whose quant_mode is not fp32, int8 against fp32 on its bundled fixtures. Builds the CLI if
# needed (BUILD_DIR, default build) and exits with the gate's code: 0 pass, 1 a drop over its
# budget, 2 an error (a file failing its digest, missing fixtures, ...). Extra arguments go to
# `tinyq gate` (e.g. --json out/gate.json).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" -j2 --target tinyq_cli
exec "$BUILD_DIR/tinyq" gate --registry models/registry.json --all "$@"
