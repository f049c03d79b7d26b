#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and fuzzes each for a while, one at a time:
#   scripts/fuzz.sh [TARGET...]        targets: onnx_load registry npz (default: all three)
# Env: FUZZ_SECONDS per target (default 600), BUILD_DIR (default build-fuzz), FUZZ_ARGS (extra
# libFuzzer flags). Corpora (seeded by fuzz/make-corpus.sh on the first run, then grown by the
# fuzzer) live in BUILD_DIR/fuzz/corpus/TARGET, crashing inputs in BUILD_DIR/fuzz/artifacts/TARGET,
# logs in BUILD_DIR/fuzz/TARGET.log. A crash, leak or timeout exits non-zero; copy the input into
# fuzz/regressions/TARGET/ once it is fixed, so that the normal test suite replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build-fuzz}"
FUZZ_SECONDS="${FUZZ_SECONDS:-600}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(onnx_load registry npz)

LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
GENERATOR=()
if command -v ninja >/dev/null 2>&1; then GENERATOR=(-G Ninja); fi
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" "${GENERATOR[@]}" "${LAUNCHER[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTINYQ_FUZZ=ON -DTINYQ_SANITIZE=address,undefined -DTINYQ_BUILD_TESTS=OFF -DTINYQ_BUILD_BENCH=OFF
cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target "${targets[@]/#/fuzz_}"

work="$BUILD_DIR/fuzz"
[ -d "$work/corpus" ] || fuzz/make-corpus.sh "$work/corpus"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/artifacts/$t"
  echo "== fuzz_$t for ${FUZZ_SECONDS}s"
  # -rss_limit_mb also caps any single allocation (-malloc_limit_mb defaults to it).
  # shellcheck disable=SC2086
  if ! "$work/fuzz_$t" "$work/corpus/$t" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" ${FUZZ_ARGS:-} >"$work/$t.log" 2>&1; then
    status=1
    echo "fuzz_$t FAILED; see $work/$t.log and $work/artifacts/$t/"
  fi
  grep -E '^#[0-9]+ +DONE|^stat::' "$work/$t.log" || tail -5 "$work/$t.log"
done
exit $status
