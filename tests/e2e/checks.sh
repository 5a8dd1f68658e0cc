# Shared by the e2e scripts (source it after setting WORK and MVAULT): TAP-like
# checks that print "ok - ..." / "not ok - ..." and count them, and `mv`,
# which runs mvault with stdout/stderr in $WORK/out and $WORK/err and the
# exit code in $RC without ever failing the script.
PASSED=0
FAILED=0
ok() { echo "ok - $*"; PASSED=$((PASSED + 1)); }
not_ok() { echo "not ok - $*"; FAILED=$((FAILED + 1)); }
# check DESCRIPTION COMMAND...: passes if COMMAND succeeds.
check() {
  local desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

RC=0
mv() {
  set +e
  "$MVAULT" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}
# check_rc DESCRIPTION EXPECTED_RC: checks the last mv's exit code.
check_rc() {
  if [[ $RC -eq $2 ]]; then ok "$1"
  else not_ok "$1 (exit $RC, want $2; stderr: $(head -c 300 "$WORK/err"))"; fi
}
err_has() { grep -qF -- "$1" "$WORK/err"; }
out_has() { grep -qF -- "$1" "$WORK/out"; }
json() { python3 -c "import json,sys; d=json.load(open('$WORK/out')); $1"; }

# launch_server [EXTRA SERVE FLAGS...]: starts modelvaultd serve on DATA/KEY
# at 127.0.0.1:0 in the background; sets SERVER_PID, and PORT once the server
# printed "listening on" ("" if it did not within 10 s or exited).
launch_server() {
  : >"$WORK/serve.out"
  "$MODELVAULTD" serve --data-dir "$DATA" --master-key-file "$KEY" \
    --listen 127.0.0.1:0 "$@" >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]\+\)$/\1/p' \
             "$WORK/serve.out" | head -n1)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
}
# jsonl PYTHON: runs PYTHON with L = the JSON objects of $WORK/out, one per
# non-empty line (e.g. `mvault admin audit tail -o json`).
jsonl() {
  python3 -c "import json; L=[json.loads(l) for l in open('$WORK/out') if l.strip()]; $1"
}
# finish: prints the tally; exits non-zero if anything failed.
finish() { echo "$PASSED passed, $FAILED failed"; [[ $FAILED -eq 0 ]]; exit $?; }
# init_vault: `modelvaultd init` of DATA=$WORK/data with KEY=$WORK/master.key
# and the root token in ROOT_TOKEN_FILE=$WORK/root.token; a failure ends the
# script.
init_vault() {
  DATA="$WORK/data"
  KEY="$WORK/master.key"
  ROOT_TOKEN_FILE="$WORK/root.token"
  if "$MODELVAULTD" init --data-dir "$DATA" --master-key-file "$KEY" \
       --root-token-file "$ROOT_TOKEN_FILE" >"$WORK/init.out" 2>"$WORK/init.err"; then
    ok "modelvaultd init"
  else
    not_ok "modelvaultd init: $(cat "$WORK/init.err")"; finish
  fi
}
