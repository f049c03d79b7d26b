#!/usr/bin/env bash
# Prepares the aarch64 cross-build (CMake preset "aarch64"): installs the cross compiler and
# qemu-user on the host, then fills a sysroot with Debian's arm64 libraries, downloaded as .debs
# and extracted (dpkg -x). They are not installed as arm64 packages because some cannot sit beside
# their amd64 twins (libonnx-dev: both ship /usr/lib/libonnxifi.so).
# Usage: scripts/setup-aarch64-sysroot.sh [SYSROOT]   (run as root, or with sudo available)
#   SYSROOT defaults to $TINYQ_AARCH64_SYSROOT, else build-aarch64-sysroot/ in the repository.
# Idempotent: a second run changes nothing unless the archive's package versions changed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SYSROOT="${1:-${TINYQ_AARCH64_SYSROOT:-$ROOT/build-aarch64-sysroot}}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Host tools. The cross compiler brings its own arm64 libc, libstdc++ and libgcc
# (/usr/aarch64-linux-gnu), which qemu-aarch64 also uses as its library prefix.
HOST_PKGS=(g++-aarch64-linux-gnu qemu-user cmake ninja-build pkg-config)
# What tinyq links and its tests need, as arm64 (or architecture-independent) packages; their
# dependencies are added below.
TARGET_PKGS=(
  libprotobuf-dev:arm64 libonnx-dev:arm64 libxnnpack-dev:arm64 libpthreadpool-dev:arm64
  libhwy-dev:arm64 libzip-dev:arm64 libssl-dev:arm64 zlib1g-dev:arm64
  libgtest-dev:arm64 libgmock-dev:arm64 nlohmann-json3-dev libcli11-dev
)
# Provided by the cross toolchain (libc6-arm64-cross and friends): never taken from the sysroot.
TOOLCHAIN_PKGS=" gcc-12-base libc6 libc6-dev libc-dev-bin libgcc-s1 libstdc++6 linux-libc-dev
  libcrypt1 libcrypt-dev libnsl2 libnsl-dev libtirpc3 libtirpc-dev libtirpc-common rpcsvc-proto "

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
elif ! apt-cache show libonnx-dev:arm64 >/dev/null 2>&1; then
  $SUDO apt-get update -qq
fi
missing=()
for p in "${HOST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Depends/Pre-Depends closure of TARGET_PKGS, minus what the toolchain provides (and what only
# it needs), as sorted name=version lines: the versions let the stamp below notice archive updates.
# One recursive apt-cache call gives the dependency graph; awk walks it from the roots.
closure() {
  local names
  names="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$@" |
    awk -v roots="$*" -v skip="$TOOLCHAIN_PKGS" '
      /^[^ ]/ { cur = $1; next }
      /^ +[|]?(Pre)?Depends: [^<]/ { deps[cur] = deps[cur] " " $2; next }
      /^    [^ ]/ { deps[cur] = deps[cur] " " $1 }  # a provider of the virtual package above
      END {
        n = split(roots, queue, " ")
        for (i = 1; i <= n; ++i) {
          p = queue[i]; base = p; sub(/:.*/, "", base)
          if (p in seen || index(skip, " " base " ")) continue
          seen[p] = 1; print p
          m = split(deps[p], d, " ")
          for (j = 1; j <= m; ++j) queue[++n] = d[j]
        }
      }')"
  # shellcheck disable=SC2086
  apt-cache policy $names | awk '/^[^ ]/ { name = $1; sub(/:$/, "", name) } /Candidate:/ { print name "=" $2 }' | sort
}

wanted="$(closure "${TARGET_PKGS[@]}")"
if [ -f "$SYSROOT/.packages" ] && [ "$(cat "$SYSROOT/.packages")" = "$wanted" ]; then
  echo "aarch64 sysroot up to date: $SYSROOT"
  exit 0
fi

rm -rf "$SYSROOT"
mkdir -p "$SYSROOT/.debs"
# apt-get download writes into the current directory; -o APT::Sandbox::User=root avoids the
# warning that the _apt user cannot write there.
(cd "$SYSROOT/.debs" && apt-get download -qq -o APT::Sandbox::User=root $wanted)
for deb in "$SYSROOT"/.debs/*.deb; do dpkg -x "$deb" "$SYSROOT"; done
rm -rf "$SYSROOT/.debs"
# Absolute symlinks (e.g. lib.so -> /lib/...) would point at the host: re-point them, relatively,
# into the sysroot.
find "$SYSROOT" -type l -lname '/*' | while read -r link; do
  ln -sfn "$(realpath -ms --relative-to="$(dirname "$link")" "$SYSROOT$(readlink "$link")")" "$link"
done
echo "$wanted" >"$SYSROOT/.packages"
echo "aarch64 sysroot ready: $SYSROOT ($(echo "$wanted" | wc -l) packages)"
