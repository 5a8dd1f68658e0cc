#!/usr/bin/env bash
# Installs the Debian bookworm packages modelvault needs to build, test and
# run — only those that are missing, so a second run costs nothing. With
# arguments, installs those packages instead (e.g. clang-14 for the sanitizer
# and fuzz builds).
set -euo pipefail
PACKAGES=(
  build-essential cmake pkg-config
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libsodium-dev liblmdb-dev lmdb-utils libssl-dev libabsl-dev libxxhash-dev
  libcli11-dev nlohmann-json3-dev libfmt-dev libgfshare-dev
  libgtest-dev libgmock-dev libbenchmark-dev librapidcheck-dev
  python3 python3-grpcio python3-protobuf python3-lmdb strace
)
[ $# -gt 0 ] && PACKAGES=("$@")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
