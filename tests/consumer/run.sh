#!/usr/bin/env bash
# Installs the built tinyq into a temp prefix, builds tests/consumer against it with
# find_package(tinyq), and runs it on a bundled model.
# Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"; src="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" >/dev/null
out="$(LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/consumer/consumer" "$src/models/vmaf_tiny_v4.onnx")"
echo "$out"
[ "$out" = "vmaf [2]" ]
