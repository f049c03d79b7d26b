#!/usr/bin/env bash
# Builds everything with AddressSanitizer + UndefinedBehaviorSanitizer (gcc is fine) and runs the
# whole test suite with every sanitizer report fatal, leaks included. Needs the same packages as
# scripts/test.sh. Usage: scripts/test-sanitizers.sh [ctest args...]   (BUILD_DIR, JOBS override)
set -euo pipefail
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
  -DTINYQ_SANITIZE=address,undefined
cmake --build "$BUILD_DIR" -j"$JOBS"
# halt_on_error/abort_on_error: the first report fails the test; detect_leaks: leaks are errors.
# verify_asan_link_order=0: tests/consumer links the sanitized libtinyq.so into an unsanitized program.
export ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:print_summary=1"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:print_summary=1"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"$JOBS" --timeout 1800 "$@"
