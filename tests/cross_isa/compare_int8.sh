#!/usr/bin/env bash
# Cross-ISA exactness of int8: tinyq_int8_outputs (int8_outputs.cpp) writes every zoo int8 model's
# outputs on its calibration and fixture rows; this runs its x86-64 build at each int8 level
# (TINYQ_INT8_ISA: best, avx2, scalar) and its aarch64 build under qemu on a plain ARMv8.0 core
# (cortex-a53: NEON only) and on qemu's "max" core (SVE2, dot product, i8mm), and compares the
# files byte for byte with those of the x86-64 build at its best level: the fast kernels' files on
# every variant, the scalar reference kernels' on the first CPU of each side (their code does not
# depend on the CPU model).
# Usage: tests/cross_isa/compare_int8.sh X86_PROGRAM AARCH64_PROGRAM OUT_DIR
# Environment: TINYQ_SHARED_DIR (default ../shared beside the repository); TINYQ_ZOO_MAX_ROWS
#   (only the first N rows of each set); TINYQ_CROSS_ISA_CPUS (qemu CPU models, default
#   "cortex-a53 max"); scripts/run-aarch64's variables.
# Exit status: 0 every file identical, 1 a file differs or a run failed, 2 usage error.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -eq 3 ] || { echo "usage: compare_int8.sh X86_PROGRAM AARCH64_PROGRAM OUT_DIR" >&2; exit 2; }
X86="$1"
ARM="$2"
OUT="$3"
ZOO="${TINYQ_SHARED_DIR:-$ROOT/../shared}/zoo"
CPUS="${TINYQ_CROSS_ISA_CPUS:-cortex-a53 max}"
for p in "$X86" "$ARM"; do [ -f "$p" ] || { echo "compare_int8.sh: $p does not exist" >&2; exit 2; }; done
[ -d "$ZOO/models" ] || { echo "compare_int8.sh: no zoo at $ZOO (set TINYQ_SHARED_DIR)" >&2; exit 2; }
rm -rf "$OUT"
mkdir -p "$OUT"

failures=0
variants=()
declare -A kernels_of
# produce NAME KERNELS COMMAND...: writes OUT/NAME/*.npz, or counts a failure.
produce() {
  local name="$1" kernels="$2"
  shift 2
  if "$@" "$ZOO" "$OUT/$name" "$kernels" >"$OUT/$name.log" 2>&1; then
    variants+=("$name")
    kernels_of[$name]="$kernels"
  else
    echo "FAIL  $name: exit status $?; $OUT/$name.log says:"
    tail -5 "$OUT/$name.log"
    failures=$((failures + 1))
  fi
}

produce x86-best both "$X86"
produce x86-avx2 fast env TINYQ_INT8_ISA=avx2 "$X86"
produce x86-scalar fast env TINYQ_INT8_ISA=scalar "$X86"
kernels=both
for cpu in $CPUS; do
  produce "aarch64-$cpu" "$kernels" env TINYQ_QEMU_CPU="$cpu" "$ROOT/scripts/run-aarch64" --exec "$ARM"
  kernels=fast
done

compared=0
if [ -d "$OUT/x86-best" ]; then
  for ref in "$OUT"/x86-best/*.npz; do
    file="$(basename "$ref")"
    for v in "${variants[@]}"; do
      [ "$v" = x86-best ] && continue
      case "${kernels_of[$v]}.$file" in both.* | fast.*.fast.npz | reference.*.reference.npz) ;; *) continue ;; esac
      compared=$((compared + 1))
      if [ ! -f "$OUT/$v/$file" ]; then
        echo "MISS  ${file%.npz}: $v wrote no such file"
        failures=$((failures + 1))
      elif cmp -s "$ref" "$OUT/$v/$file"; then
        echo "same  ${file%.npz}: $v = x86-best"
      else
        echo "DIFF  ${file%.npz}: $v differs from x86-best ($(cmp "$ref" "$OUT/$v/$file" 2>&1 | head -1))"
        failures=$((failures + 1))
      fi
    done
  done
fi
echo "cross-ISA int8: $compared files compared, $failures failures"
[ "$compared" -gt 0 ] && [ "$failures" -eq 0 ]
