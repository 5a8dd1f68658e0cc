#!/usr/bin/env bash
# Configures and builds modelvault into ${BUILD_DIR:-build} (2 parallel jobs
# by default: the reference machine has 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} > /dev/null
cmake --build "$BUILD_DIR" -j "${JOBS:-2}"
