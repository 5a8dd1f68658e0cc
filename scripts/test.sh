#!/usr/bin/env bash
# Installs what is missing, builds and runs the whole test suite: CTest (unit,
# integration, end-to-end, Python interop, crash and I/O-fault loops) under
# ASan+UBSan, TSan on the core's concurrency tests, and every fuzzer.
# QUICK=1 runs the suite once on the plain build instead and skips the rest.
set -euo pipefail
cd "$(dirname "$0")/.."
# The three builds need ~6 GiB; say up front how much room there is.
df -h . "${TMPDIR:-/tmp}" | sed 's/^/disk: /'
# Each stage says when it ended, so a slow CI run shows where its time went.
stage() { echo "[test.sh] $1 done after $SECONDS s"; }
scripts/install-deps.sh
# The full run executes the suite once, in the sanitizer stage (clang); g++
# builds the product, the benchmarks, and runs only the tests labelled
# "plain": those whose limits are about the plain server's own resources
# (peak RSS under hostile headers and under load), which ASan's shadow
# memory would hide, and the leak-trace rewrite properties, 20 seeds per
# rewrite, four times faster here (ASan runs 5 of each).
if [ "${QUICK:-0}" = 1 ]; then
  scripts/build.sh
  only_plain=()
else
  scripts/build.sh modelvaultd mvault push_pull_bench policy_bench audit_bench trace_bench \
    core_trace_rewrite_test
  only_plain=(-L plain)
fi
stage build
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure --timeout 900 -j "${JOBS:-2}" "${only_plain[@]}") \
  2>&1 | tee "${BUILD_DIR:-build}/ctest.log"
scripts/check-skips.sh "${BUILD_DIR:-build}/ctest.log"
stage tests
if [ "${QUICK:-0}" != 1 ]; then
  scripts/sanitize.sh
  stage sanitizers
  # 15 s per fuzzer (14 of them, two at a time) keeps the fuzz stage near
  # 4 minutes with its build on two cores; the nightly run sets FUZZ_SECONDS=3600.
  FUZZ_SECONDS="${FUZZ_SECONDS:-15}" scripts/fuzz.sh
  stage fuzzers
fi
