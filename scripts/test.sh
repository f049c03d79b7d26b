#!/usr/bin/env bash
# Builds tinyq (Release) and runs the whole test suite: unit tests, ONNX node tests, the zoo
# suite (needs ../shared beside the repo, or TINYQ_SHARED_DIR) and the CLI tests.
set -euo pipefail
# The interop tests compare with ONNX Runtime (installed by scripts/install-deps.sh): here they
# fail when it is missing instead of skipping. Set TINYQ_REQUIRE_ORT=0 to let them skip.
export TINYQ_REQUIRE_ORT="${TINYQ_REQUIRE_ORT:-1}"
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j2
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
