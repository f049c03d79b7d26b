#!/usr/bin/env bash
# The aarch64 CI step: sets up the cross toolchain and sysroot (scripts/setup-aarch64-sysroot.sh),
# cross-builds the CMake preset "aarch64", runs its test suites under qemu-aarch64 (ctest --preset
# aarch64: unit, ONNX node, zoo, zoo int8, C API and CLI tests), then checks that the zoo's int8
# models give byte-identical outputs on x86-64 and aarch64 (tests/cross_isa/compare_int8.sh).
# Usage: scripts/test-aarch64.sh   (run as root, or with sudo available, for the apt-get calls)
# Environment: TINYQ_X86_BUILD  an x86-64 build folder holding the tinyq CLI (default build/, as
#                               scripts/test.sh leaves it; configured and built here if it lacks one)
#              TINYQ_JOBS       parallel build and test jobs (default 2)
#              TINYQ_SHARED_DIR the shared zoo's parent (default ../shared beside the repository)
# The cross-ISA comparison's own variables are in tests/cross_isa/compare_int8.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${TINYQ_JOBS:-2}"
X86_BUILD="${TINYQ_X86_BUILD:-build}"
step() { echo "== $* ($(date -u +%H:%M:%S))"; }

step "sysroot"
scripts/setup-aarch64-sysroot.sh
step "configure and build (preset aarch64)"
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake --preset aarch64 "${launcher[@]}"
cmake --build --preset aarch64 --parallel "$JOBS"
step "tests under qemu-aarch64"
ctest --preset aarch64 -j "$JOBS"
step "x86-64 tinyq for the cross-ISA comparison ($X86_BUILD)"
if [ ! -x "$X86_BUILD/tinyq" ]; then
  cmake -S . -B "$X86_BUILD" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
  cmake --build "$X86_BUILD" --target tinyq_cli --parallel "$JOBS"
fi
step "cross-ISA int8 comparison"
tests/cross_isa/compare_int8.sh "$X86_BUILD/tinyq" build-aarch64/cross_isa
step "done"
