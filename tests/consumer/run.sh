#!/usr/bin/env bash
# Installs the built tinyq into a temp prefix, builds tests/consumer against it with
# find_package(tinyq), and runs it on a bundled model.
# Usage: run.sh BUILD_DIR SOURCE_DIR [SANITIZERS]   (SANITIZERS: the build's TINYQ_SANITIZE, if any)
set -euo pipefail
build="$1"; src="$2"; sanitize="${3:-}"
flags=()
if [ -n "$sanitize" ]; then
  flags=(-DCMAKE_CXX_FLAGS="-fsanitize=$sanitize" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize")
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release "${flags[@]}" >/dev/null
cmake --build "$work/consumer" >/dev/null
out="$(LD_LIBRARY_PATH="$work/prefix/lib:${LD_LIBRARY_PATH:-}" "$work/consumer/consumer" "$src/models/vmaf_tiny_v4.onnx")"
echo "$out"
[ "$out" = "vmaf [2]" ]
