#!/usr/bin/env bash
# The aarch64 CI step: sets up the cross toolchain and sysroot (scripts/setup-aarch64-sysroot.sh),
# cross-builds the CMake preset "aarch64", runs its test suites under qemu-aarch64 (ctest --preset
# aarch64: unit, ONNX node, zoo, zoo int8, C API and CLI tests, less the two that need native
# processes: see the test preset), then checks that the zoo's int8 models give byte-identical
# outputs on x86-64 and aarch64, and that `tinyq quantize static` and `dynamic` write
# byte-identical files on both (tests/cross_isa/compare_int8.sh). Both checks run even when the
# first fails; the exit status is 0 only when both pass.
# Usage: scripts/test-aarch64.sh   (run as root, or with sudo available, for the apt-get calls)
# Environment: TINYQ_X86_BUILD    the x86-64 build folder for the comparison (default build/, as
#                                 scripts/test.sh leaves it; configured here if it is not)
#              TINYQ_JOBS         parallel build and test jobs (default 2)
#              TINYQ_ZOO_MAX_ROWS rows of each zoo set the zoo suites and the comparison run
#                                 (default 4: emulated image models cost seconds a row; 0: all)
#              TINYQ_SHARED_DIR   the shared zoo's parent (default ../shared beside the repository)
#              TINYQ_AARCH64_SKIP ctest -E regex of tests not run under qemu (default: the preset's
#                                 native-process tests plus the policy tests that replay whole
#                                 data sets through tune, the gate and concurrent sessions; their
#                                 kernels are the ones every other test and the comparison cover,
#                                 and emulated they cost half an hour; empty string: the preset's)
# The cross-ISA comparison's own variables are in tests/cross_isa/compare_int8.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${TINYQ_JOBS:-2}"
X86_BUILD="${TINYQ_X86_BUILD:-build}"
export TINYQ_ZOO_MAX_ROWS="${TINYQ_ZOO_MAX_ROWS:-4}"
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
tests_ok=1
native_only='install_and_find_package|CrashSafety\..*'
policy='Tune\..*|TuneCli\.(ChoosesWritesAndRecordsTheReason|ReplayMakesTheSameBytes|NothingMeetsTheBudgetExitsOneAndWritesNothing)|GateCli\.ZooModelsPassAtTheirBudgetAndFailAtATighterOne|GateRegistry\.(ZooDynamicModelsPassABudgetOf001AndFailOf00001|ImageOutputsAreComparedOverAllTheirValues)|Session\.ConcurrentRunsOfARealConvModelMatch|BundledModels\.PassTheGate'
skip="${TINYQ_AARCH64_SKIP-$native_only|$policy}"
[ -n "$skip" ] || skip="$native_only"
ctest --preset aarch64 -j "$JOBS" -E "^($skip)\$" || tests_ok=0
step "x86-64 tinyq and tinyq_int8_outputs for the cross-ISA comparison ($X86_BUILD)"
if [ ! -f "$X86_BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$X86_BUILD" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}"
fi
cmake --build "$X86_BUILD" --target tinyq tinyq_int8_outputs --parallel "$JOBS"
step "cross-ISA int8 comparison (first $TINYQ_ZOO_MAX_ROWS rows of each set; 0 means all)"
compare_ok=1
tests/cross_isa/compare_int8.sh "$X86_BUILD" build-aarch64 build-aarch64/cross_isa || compare_ok=0
step "done: tests under qemu $([ $tests_ok = 1 ] && echo passed || echo FAILED), cross-ISA comparison $([ $compare_ok = 1 ] && echo passed || echo FAILED)"
[ $tests_ok = 1 ] && [ $compare_ok = 1 ]
