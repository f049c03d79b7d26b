#!/usr/bin/env bash
# Installs tinyq's build and test dependencies from Debian 12's archive.
# Usage: scripts/install-deps.sh [--no-ort]   (run as root, or with sudo available)
#   --no-ort  skip ONNX Runtime (npm onnxruntime-node, the reference peer of the interop tests)
set -euo pipefail
WITH_ORT=1
for arg in "$@"; do
  case "$arg" in
    --no-ort) WITH_ORT=0 ;;
    *) echo "install-deps.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake pkg-config ninja-build
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libxnnpack-dev libpthreadpool-dev libhwy-dev
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libzip-dev zlib1g-dev
  libtorch-dev

)
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}"
# Node.js (for the ONNX Runtime reference peer in tests and benchmarks) is expected on the machine;
# install Debian's only when none is present, since it conflicts with other Node.js builds.
if ! command -v node >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# ONNX Runtime for Node.js, pinned by tools/ort-peer/package-lock.json; its postinstall download
# (GPU providers) is skipped, the CPU build ships in the package.
if [ "$WITH_ORT" = 1 ]; then
  (cd "$(dirname "$0")/../tools/ort-peer" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error)
fi
