#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite: CTest (unit,
# integration, end-to-end, Python interop, crash and I/O-fault loops), then
# the suite under sanitizers and every fuzzer (skip those two with QUICK=1).
set -euo pipefail
cd "$(dirname "$0")/.."
# The three builds need ~6 GiB; say up front how much room there is.
df -h . "${TMPDIR:-/tmp}" | sed 's/^/disk: /'
# Each stage says when it ended, so a slow CI run shows where its time went.
stage() { echo "[test.sh] $1 done after $SECONDS s"; }
scripts/install-deps.sh
scripts/build.sh
stage build
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900 --repeat until-pass:2 -j "${JOBS:-2}") \
  2>&1 | tee "${BUILD_DIR:-build}/ctest.log"
scripts/check-skips.sh "${BUILD_DIR:-build}/ctest.log"
stage tests
if [ "${QUICK:-0}" != 1 ]; then
  scripts/sanitize.sh
  stage sanitizers
  # 15 s per fuzzer (11 of them, two at a time) keeps the fuzz stage near
  # 4 minutes with its build on two cores; the nightly run sets FUZZ_SECONDS=3600.
  FUZZ_SECONDS="${FUZZ_SECONDS:-15}" scripts/fuzz.sh
  stage fuzzers
fi
