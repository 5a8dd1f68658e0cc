#!/usr/bin/env bash
# check-skips.sh CTEST_LOG: fails if CTest skipped a test that may not skip.
# CTest counts a skipped GoogleTest as passed, so a fixture whose setup broke
# (a tool missing, a certificate openssl could not make) would otherwise
# pass the run while testing nothing. Only tests whose skip depends on the
# machine itself are allowed to skip.
set -euo pipefail
allowed='^(TokenStoreTest\.UnwritableDirectoryIsPermissionDenied|DirectFileWriterTest\.UsesDirectIoWhereTheFileSystemAllows|DirectFileWriterTest\.WorksOnTmpfs)$'
# e.g. " 998/1000 Test  #900: TokenStoreTest.X ......***Skipped   0.03 sec"
skipped=$(sed -n 's/.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$1" | sort -u)
unexpected=$(grep -Ev "$allowed" <<<"$skipped" || true)
grep -E "$allowed" <<<"$skipped" | sed 's/^/[check-skips] skipped, allowed on this machine: /' || true
if [ -n "$unexpected" ]; then
  echo "[check-skips] tests skipped that must run (a broken fixture?):" >&2
  sed 's/^/  /' <<<"$unexpected" >&2
  exit 1
fi
