#!/usr/bin/env bash
# Cross-ISA exactness of int8, for the int8 models' outputs and for the quantisers' files.
# - Outputs: tinyq_int8_outputs (int8_outputs.cpp) writes every zoo int8 model's outputs on its
#   calibration and fixture rows; this runs its x86-64 build at each int8 level (TINYQ_INT8_ISA:
#   best, avx2, scalar) and its aarch64 build under qemu on a plain ARMv8.0 core (cortex-a53: NEON
#   only) and on qemu's "max" core (SVE2, dot product, i8mm), and compares the files byte for byte
#   with those of the x86-64 build at its best level: the fast kernels' files on every variant, the
#   scalar reference kernels' on the first CPU of each side (their code does not depend on the CPU
#   model).
# - Quantiser files: the x86-64 and the aarch64 tinyq (under qemu, on each CPU above) run
#   `tinyq quantize static` (calibrated on the first TINYQ_ZOO_MAX_ROWS rows of the calibration
#   set, cut once on x86-64 by `tinyq_int8_outputs --calibration-sets`) and `tinyq quantize dynamic`
#   on every zoo fp32 model with a calibration set; the .int8.onnx files must be byte-identical to
#   the x86-64 ones.
# Usage: tests/cross_isa/compare_int8.sh X86_BUILD AARCH64_BUILD OUT_DIR
#   (build folders holding tinyq and tests/cross_isa/tinyq_int8_outputs)
# Environment: TINYQ_SHARED_DIR (default ../shared beside the repository); TINYQ_ZOO_MAX_ROWS
#   (only the first N rows of each set); TINYQ_CROSS_ISA_CPUS (qemu CPU models, default
#   "cortex-a53 max"); scripts/run-aarch64's variables.
# Exit status: 0 every file identical, 1 a file differs or a run failed, 2 usage error.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[ $# -eq 3 ] || { echo "usage: compare_int8.sh X86_BUILD AARCH64_BUILD OUT_DIR" >&2; exit 2; }
X86="$1/tests/cross_isa/tinyq_int8_outputs"
ARM="$2/tests/cross_isa/tinyq_int8_outputs"
X86_TINYQ="$1/tinyq"
ARM_TINYQ="$2/tinyq"
OUT="$3"
ZOO="${TINYQ_SHARED_DIR:-$ROOT/../shared}/zoo"
CPUS="${TINYQ_CROSS_ISA_CPUS:-cortex-a53 max}"
for p in "$X86" "$ARM" "$X86_TINYQ" "$ARM_TINYQ"; do
  [ -f "$p" ] || { echo "compare_int8.sh: $p does not exist" >&2; exit 2; }
done
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

# quantize NAME COMMAND...: runs COMMAND (a tinyq) as `quantize static` and `quantize dynamic` on
# every model with a cut calibration set, writing OUT/NAME/quantized/<model>.<mode>.int8.onnx.
qvariants=()
quantize() {
  local name="$1" dir="$OUT/$1/quantized" ok=1 cal model
  shift
  mkdir -p "$dir"
  for cal in "$OUT"/calibration/*.calibration.npz; do
    model="$(basename "$cal" .calibration.npz)"
    if ! "$@" quantize static "$ZOO/models/$model.onnx" --calibration "$cal" -o "$dir/$model.static.int8.onnx" \
        >>"$OUT/$name.quantize.log" 2>&1 ||
      ! "$@" quantize dynamic "$ZOO/models/$model.onnx" -o "$dir/$model.dynamic.int8.onnx" \
        >>"$OUT/$name.quantize.log" 2>&1; then
      echo "FAIL  $name: tinyq quantize of $model; $OUT/$name.quantize.log says:"
      tail -5 "$OUT/$name.quantize.log"
      failures=$((failures + 1))
      ok=0
    fi
  done
  [ $ok = 1 ] && qvariants+=("$name")
}

produce x86-best both "$X86"
produce x86-avx2 fast env TINYQ_INT8_ISA=avx2 "$X86"
produce x86-scalar fast env TINYQ_INT8_ISA=scalar "$X86"
kernels=both
for cpu in $CPUS; do
  produce "aarch64-$cpu" "$kernels" env TINYQ_QEMU_CPU="$cpu" "$ROOT/scripts/run-aarch64" --exec "$ARM"
  kernels=fast
done

if "$X86" --calibration-sets "$ZOO" "$OUT/calibration" >"$OUT/calibration.log" 2>&1; then
  quantize x86-best "$X86_TINYQ"
  for cpu in $CPUS; do
    quantize "aarch64-$cpu" env TINYQ_QEMU_CPU="$cpu" "$ROOT/scripts/run-aarch64" --exec "$ARM_TINYQ"
  done
else
  echo "FAIL  calibration sets: $OUT/calibration.log says:"
  tail -5 "$OUT/calibration.log"
  failures=$((failures + 1))
fi

compared=0
# check REF FILE VARIANT LABEL: compares REF with VARIANT's FILE (under the same folder layout).
check() {
  local ref="$1" other="$2" v="$3" label="$4"
  compared=$((compared + 1))
  if [ ! -f "$other" ]; then
    echo "MISS  $label: $v wrote no such file"
    failures=$((failures + 1))
  elif cmp -s "$ref" "$other"; then
    echo "same  $label: $v = x86-best"
  else
    echo "DIFF  $label: $v differs from x86-best ($(cmp "$ref" "$other" 2>&1 | head -1))"
    failures=$((failures + 1))
  fi
}
if [ -d "$OUT/x86-best" ]; then
  for ref in "$OUT"/x86-best/*.npz; do
    [ -f "$ref" ] || continue
    file="$(basename "$ref")"
    for v in "${variants[@]}"; do
      [ "$v" = x86-best ] && continue
      case "${kernels_of[$v]}.$file" in both.* | fast.*.fast.npz | reference.*.reference.npz) ;; *) continue ;; esac
      check "$ref" "$OUT/$v/$file" "$v" "${file%.npz}"
    done
  done
fi
if [[ " ${qvariants[*]} " == *" x86-best "* ]]; then
  for ref in "$OUT"/x86-best/quantized/*.int8.onnx; do
    [ -f "$ref" ] || continue
    file="$(basename "$ref")"
    for v in "${qvariants[@]}"; do
      [ "$v" = x86-best ] && continue
      check "$ref" "$OUT/$v/quantized/$file" "$v" "quantize ${file%.int8.onnx}"
    done
  done
fi
echo "cross-ISA int8: $compared files compared, $failures failures"
[ "$compared" -gt 0 ] && [ "$failures" -eq 0 ]
