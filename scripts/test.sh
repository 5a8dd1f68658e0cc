#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite (unit,
# integration, end-to-end, Python interop, crash) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 -j "${JOBS:-2}"
