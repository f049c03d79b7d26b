#!/usr/bin/env bash
# Builds tinyq (Release) and runs the whole test suite: unit tests, ONNX node tests, the zoo
# suite (needs ../shared beside the repo, or TINYQ_SHARED_DIR) and the CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j2
ctest --test-dir "$BUILD_DIR" --output-on-failure -j2
