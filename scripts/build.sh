#!/usr/bin/env bash
# Configures and builds modelvault into ${BUILD_DIR:-build} (2 parallel jobs
# by default: the reference machine has 2 cores). Arguments name targets to
# build (default: everything, tests and bench included).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} > /dev/null
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "${JOBS:-2}" "${targets[@]}"
