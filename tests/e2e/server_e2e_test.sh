#!/usr/bin/env bash
# End-to-end checks of modelvaultd's own commands, run as an operator would:
# init refuses to touch an existing vault, serve refuses a wrong key, a loose
# key file and a non-loopback plaintext address, each with one clear line;
# and a restored older data dir is refused by the audit witness.
# Usage: server_e2e_test.sh BUILD_DIR
set -uo pipefail
MODELVAULTD=${MODELVAULTD:-$1/server/modelvaultd}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
passed=0 failed=0
check() {  # check NAME COMMAND...: passes if COMMAND succeeds
  local name=$1; shift
  if "$@"; then echo "ok - $name"; passed=$((passed + 1)); else echo "not ok - $name"; failed=$((failed + 1)); fi
}
run() {  # run ARGS...: sets $code, $out, $err
  "$MODELVAULTD" "$@" > "$T/out" 2> "$T/err"; code=$?
  out=$(cat "$T/out"); err=$(cat "$T/err")
}
one_line_matching() { [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] && printf '%s' "$err" | grep -q -- "$1"; }

run init --data-dir "$T/data" --master-key-file "$T/key"
check "init exits 0" [ "$code" -eq 0 ]
printf '%s\n' "$out" > "$T/root.token.saved"
check "init prints exactly the root token on stdout" bash -c "[[ '$out' =~ ^mvt_[A-Za-z0-9_-]{43}$ ]]"
check "init creates a 32-byte key with mode 0600" bash -c "[ \$(stat -c %s '$T/key') -eq 32 ] && [ \$(stat -c %a '$T/key') = 600 ]"
check "init creates the data dir with mode 0700" [ "$(stat -c %a "$T/data")" = 700 ]
check "the root token is not in the data file" bash -c "! grep -q -- '$out' '$T/data/data.mdb'"

before=$(sha256sum "$T/key" "$T/data/data.mdb")
run init --data-dir "$T/data" --master-key-file "$T/key" --root-token-file "$T/token2"
check "init on an existing vault exits 1" [ "$code" -eq 1 ]
check "init on an existing vault says so in one line" one_line_matching "already exists"
check "init on an existing vault changes nothing" [ "$before" = "$(sha256sum "$T/key" "$T/data/data.mdb")" ]
check "init on an existing vault writes no token file" [ ! -e "$T/token2" ]

run init --data-dir "$T/data2" --master-key-file "$T/key2" --root-token-file "$T/token"
check "init --root-token-file keeps stdout empty" [ -z "$out" ]
check "the root token file has mode 0600" [ "$(stat -c %a "$T/token")" = 600 ]

chmod 640 "$T/key"
run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0
check "serve refuses a key file readable by group (exit 1)" [ "$code" -eq 1 ]
check "serve names the loose key file and the fix" one_line_matching "chmod 600"
chmod 600 "$T/key"

run serve --data-dir "$T/data" --master-key-file "$T/key2" --listen 127.0.0.1:0
check "serve refuses the wrong master key (exit 1)" [ "$code" -eq 1 ]
check "serve says the key is wrong" one_line_matching "wrong master key"

run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 0.0.0.0:0
check "serve refuses plaintext on a non-loopback address" [ "$code" -eq 1 ]
check "serve explains the loopback rule" one_line_matching "non-loopback"

run serve --data-dir "$T/nothing" --master-key-file "$T/key" --listen 127.0.0.1:0
check "serve refuses a directory without a vault" bash -c "[ $code -eq 1 ] && grep -q 'modelvaultd init' '$T/err'"

run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0 --chunk-size-kib 0
check "serve rejects a bad flag value as a usage error (exit 2)" [ "$code" -eq 2 ]

# A running server: verify reads alongside it; a second server is refused.
MVAULT=${MVAULT:-$1/client/mvault}
"$MODELVAULTD" serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0 > "$T/serve.out" 2> "$T/serve.err" &
server=$!
for _ in $(seq 100); do grep -q "listening on" "$T/serve.out" && break; sleep 0.1; done
addr=$(sed -n 's/^listening on //p' "$T/serve.out")
head -c 3000000 /dev/urandom > "$T/model.bin"
MODELVAULT_TOKEN=$(grep -o 'mvt_[A-Za-z0-9_-]*' "$T/root.token.saved") "$MVAULT" --addr "$addr" push "$T/model.bin" acme/model > /dev/null 2>&1
check "a push to the served vault succeeds" [ $? -eq 0 ]
run verify --data-dir "$T/data" --master-key-file "$T/key"
check "verify next to a live server exits 0" [ "$code" -eq 0 ]
check "verify reports what it checked" bash -c "printf '%s' '$out' | grep -Eq '^ok: 1 versions, 3 chunks, 3000000 bytes, [1-9][0-9]* audit records checked, 0 problems$'"
run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0
check "a second server on the same data dir is refused" bash -c "[ $code -eq 1 ] && grep -q 'already serving' '$T/err'"
run serve --data-dir "$T/data2" --master-key-file "$T/key2" --listen "$addr"
check "serve on a port already in use says it cannot listen" bash -c "[ $code -eq 1 ] && grep -q 'cannot listen on $addr' '$T/err'"
kill -TERM "$server"; wait "$server"
check "the server exits 0 on SIGTERM" [ $? -eq 0 ]
run verify --data-dir "$T/data" --master-key-file "$T/key2"
check "verify with the wrong key refuses" bash -c "[ $code -eq 1 ] && grep -q 'wrong master key' '$T/err'"

# Audit rollback: the graceful stop signed the audit log and appended the
# checkpoint to the witness beside the data dir; a restored older copy of the
# data dir is then refused.
check "the stop wrote a signed checkpoint to the default witness" \
  grep -q '"type":"checkpoint"' "$T/data.audit-witness"
cp -a "$T/data" "$T/data.old"
serve_and_push() {  # serve, push one more version, stop gracefully
  "$MODELVAULTD" serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0 > "$T/serve.out" 2> "$T/serve.err" &
  server=$!
  for _ in $(seq 100); do grep -q "listening on" "$T/serve.out" && break; sleep 0.1; done
  addr=$(sed -n 's/^listening on //p' "$T/serve.out")
  MODELVAULT_TOKEN=$(grep -o 'mvt_[A-Za-z0-9_-]*' "$T/root.token.saved") "$MVAULT" --addr "$addr" push "$T/model.bin" acme/model > /dev/null 2>&1
  kill -TERM "$server"; wait "$server"
}
serve_and_push
rm -rf "$T/data" && mv "$T/data.old" "$T/data"
run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0
check "a restored older data dir is refused (exit 1)" [ "$code" -eq 1 ]
check "the refusal names the rollback and the witness" bash -c "grep -q 'audit rollback detected' '$T/err' && grep -q 'data.audit-witness' '$T/err'"
run verify --data-dir "$T/data" --master-key-file "$T/key"
check "verify refuses the rolled-back data dir too" bash -c "[ $code -ne 0 ] && grep -q 'audit rollback detected' '$T/err'"
run serve --data-dir "$T/data" --master-key-file "$T/key" --listen 127.0.0.1:0 --audit-witness "$T/data/witness"
check "a witness inside the data dir is refused" bash -c "[ $code -eq 1 ] && grep -q 'must not be inside the data dir' '$T/err'"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
