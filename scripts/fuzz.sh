#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 14, ASan + UBSan) in build-fuzz and
# runs each one for FUZZ_SECONDS (default 60) on a copy of its committed
# corpus under tests/fuzz/corpus/, JOBS (default 2) at a time. A crash's reproducer
# is copied to tests/fuzz/regressions/<name>/. Exits non-zero if any fuzzer
# fails, after printing "N passed, M failed".
#   FUZZ_SECONDS=10 scripts/fuzz.sh            # all fuzzers, 10 s each
#   scripts/fuzz.sh records bearer             # only these
set -euo pipefail
cd "$(dirname "$0")/.."

# name:max_len — max_len a little above the largest meaningful input.
FUZZERS=(
  reference:512
  records:4096
  record_codec:1024
  bearer:128
  format_detect:64
  chunk_open:4096
  key_unwrap:256
  policy:4096
  audit:8192
  safetensors:4096
  gguf:4096
  mark_table:4096
  leak_reader:4096
  downloads:512
)
SECONDS_EACH="${FUZZ_SECONDS:-60}"
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
WORK_DIR="$BUILD_DIR/fuzz-runs"

scripts/install-deps.sh clang-14 libclang-rt-14-dev

CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD_DIR" -DMODELVAULT_FUZZ=ON >/dev/null
cmake --build "$BUILD_DIR" -j2

selected=("$@")
JOBS=${JOBS:-2}

# Runs one fuzzer; its output goes to $WORK_DIR/<name>/log, its verdict to
# $WORK_DIR/<name>/result ("passed" or "failed"). Fuzzers are independent
# single-threaded processes, so JOBS of them run at once.
run_fuzzer() {
  local name="$1" max_len="$2" run="$WORK_DIR/$1"
  rm -rf "$run"
  mkdir -p "$run/corpus" "$run/artifacts"
  cp tests/fuzz/corpus/"$name"/* "$run/corpus/"
  # Committed regressions run first; any of them failing is a failure.
  local regressions=()
  [ -d "tests/fuzz/regressions/$name" ] && regressions=("tests/fuzz/regressions/$name")
  if "$BUILD_DIR/tests/fuzz/${name}_fuzzer" "$run/corpus" "${regressions[@]}" \
      -max_total_time="$SECONDS_EACH" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$run/artifacts/" >"$run/log" 2>&1; then
    echo passed >"$run/result"
  else
    echo failed >"$run/result"
  fi
}

names=()
for entry in "${FUZZERS[@]}"; do
  name="${entry%%:*}"
  max_len="${entry##*:}"
  if [ ${#selected[@]} -gt 0 ] && [[ " ${selected[*]} " != *" $name "* ]]; then
    continue
  fi
  names+=("$name")
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
  echo "== $name (${SECONDS_EACH}s, max_len $max_len)"
  run_fuzzer "$name" "$max_len" &
done
wait

passed=0
failed=0
failed_names=()
for name in "${names[@]}"; do
  run="$WORK_DIR/$name"
  if [ "$(cat "$run/result" 2>/dev/null)" = passed ]; then
    passed=$((passed + 1))
    echo "== $name: passed"
    grep -E "^#[0-9]+[[:space:]]+DONE" "$run/log" | tail -1 || true
    grep -E "stat::(number_of_executed_units|average_exec_per_sec)" "$run/log" || true
    continue
  fi
  failed=$((failed + 1))
  failed_names+=("$name")
  echo "== $name: FAILED"
  tail -40 "$run/log"
  mkdir -p "tests/fuzz/regressions/$name"
  for crash in "$run"/artifacts/*; do
    [ -e "$crash" ] || continue
    cp "$crash" "tests/fuzz/regressions/$name/"
    echo "reproducer: tests/fuzz/regressions/$name/$(basename "$crash")" \
         "hex: $(head -c 256 "$crash" | od -An -v -tx1 | tr -d ' \n')"
  done
done

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
