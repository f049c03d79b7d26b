#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (gcc is fine) and runs the
# whole test suite with every sanitizer report fatal, leaks included. Needs the same packages as
# scripts/test.sh. Usage: scripts/test-sanitizers.sh [ctest args...]   (BUILD_DIR, JOBS override)
# Every test is built and run, QAT included (the benchmarks, which are not tests, are not built):
# libtorch (Debian's, uninstrumented) runs inside the sanitized tinyq_qat_tests and CLI without a
# report, so nothing is suppressed or left out.
# As in scripts/test.sh, the ONNX Runtime interop tests (node + tools/ort-peer) fail instead of
# skipping when the peer is missing; TINYQ_REQUIRE_ORT=0 lets them skip.
set -euo pipefail
export TINYQ_REQUIRE_ORT="${TINYQ_REQUIRE_ORT:-1}"
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-asan}"
JOBS="${JOBS:-2}"
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTINYQ_SANITIZE=address,undefined -DTINYQ_BUILD_BENCH=OFF
cmake --build "$BUILD_DIR" -j"$JOBS"
# halt_on_error/abort_on_error: the first report fails the test; detect_leaks: leaks are errors.
# (tests/consumer builds its program with the same sanitizers, so every program here is instrumented.)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS" --timeout 1800 "$@"
