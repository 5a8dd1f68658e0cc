#!/usr/bin/env bash
# End-to-end test of a vault sealed by unseal keys (issue #17), driven as
# operators drive it: `modelvaultd init --key-shares 5 --key-threshold 3`
# (keys on stdout once; then with --unseal-key-files), `serve` starts sealed
# without a key file (health NOT_SERVING, calls UNAVAILABLE, exit 6), three
# operators each pipe one key to `mvault operator unseal`, a push and a
# pull work, `operator seal` seals again (status, exit 6), unseal again and
# the pushed bytes pull back identical; keys in argv, a wrong key and
# another vault's key are refused; a restart starts sealed again.
#
#   usage: sealed_e2e_test.sh BUILD_DIR
#
# Each check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed".
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_sealed_e2e.XXXXXX")
SERVER_PID=""
stop_server() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

source "$(dirname "$0")/checks.sh"

DATA="$WORK/data"
# serve_sealed: serve DATA on 127.0.0.1:0 without a key file; sets PORT.
serve_sealed() {
  : >"$WORK/serve.out"
  "$MODELVAULTD" serve --data-dir "$DATA" --listen 127.0.0.1:0 \
    >"$WORK/serve.out" 2>"$WORK/serve.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$WORK/serve.out" | head -n1)
    [[ -n $PORT ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  export MODELVAULT_ADDR="127.0.0.1:$PORT"
}
# unseal_with FILE: `mvault operator unseal` with FILE on stdin, no token.
unseal_with() {
  set +e
  env -u MODELVAULT_TOKEN HOME="$WORK/nohome" "$MVAULT" operator unseal \
    <"$1" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}

# --- init --------------------------------------------------------------
set +e
"$MODELVAULTD" init --data-dir "$DATA" --key-shares 5 --key-threshold 3 \
  >"$WORK/init.out" 2>"$WORK/init.err"
rc=$?
set -e
check "init --key-shares 5 --key-threshold 3 exits 0" test "$rc" -eq 0
check "init prints 5 unseal keys and then the root token on stdout" python3 -c "
import re
lines = open('$WORK/init.out').read().split()
assert len(lines) == 6, lines
for i, l in enumerate(lines[:5], 1):
    assert re.fullmatch(r'mvshare1-[0-9a-f]{8}-%d-[0-9a-f]{64}-[0-9a-f]{8}' % i, l), l
assert re.fullmatch(r'mvt_[A-Za-z0-9_-]{43}', lines[5]), lines[5]"
for i in 1 2 3 4 5; do sed -n "${i}p" "$WORK/init.out" >"$WORK/key.$i"; done
sed -n 6p "$WORK/init.out" >"$WORK/root.token"
chmod 600 "$WORK/root.token"
ROOT="$WORK/root.token"
# keys.mvk holds the keyring sealed under the master key, not the key.
check "init keeps no master key: the data dir holds the seal file, no key" \
  bash -c "[ -f '$DATA/unseal.conf' ] && ! ls '$DATA' | grep -vx keys.mvk | grep -qi key"
check "the seal file holds N, M and the tag, no key" \
  grep -Eqx 'mvseal1 shares=5 threshold=3 tag=[0-9a-f]{8}' "$DATA/unseal.conf"
check "no unseal key is in the data file" bash -c "
for i in 1 2 3 4 5; do ! grep -qF -- \"\$(cut -d- -f4 '$WORK/key.'\$i)\" '$DATA/data.mdb' || exit 1; done"

set +e
"$MODELVAULTD" init --data-dir "$WORK/d2" --key-shares 3 --key-threshold 1 >/dev/null 2>"$WORK/err"
rc=$?
set -e
check "init refuses a threshold of 1 with several shares" bash -c "[ $rc -eq 1 ] && grep -q 'at least 2' '$WORK/err'"
set +e
"$MODELVAULTD" init --data-dir "$WORK/d3" --key-shares 3 --key-threshold 2 \
  --unseal-key-files "$WORK/other" --root-token-file "$WORK/other.token" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "init --unseal-key-files writes PREFIX.1..N with mode 0600 and nothing on stdout" \
  bash -c "[ $rc -eq 0 ] && [ ! -s '$WORK/out' ] && [ \$(stat -c %a '$WORK/other.1') = 600 ] && [ -f '$WORK/other.3' ] && [ ! -e '$WORK/other.4' ]"

# --- serve starts sealed ----------------------------------------------------
serve_sealed
check "serve on a sealed vault starts without --master-key-file" test -n "$PORT"
check "serve says the vault is sealed and how many keys it needs" grep -q "give 3 of its 5 unseal keys" "$WORK/serve.err"
mv --token-file "$ROOT" whoami
check_rc "sealed: whoami exits 6 (unavailable)" 6
check "sealed: the refusal names the progress" err_has "vault is sealed (0 of 3 unseal keys given)"
env -u MODELVAULT_TOKEN HOME="$WORK/nohome" "$MVAULT" operator status -o json >"$WORK/out" 2>"$WORK/err" && RC=0 || RC=$?
check_rc "operator status needs no token while sealed" 0
check "status: sealed, 0 of 3" json "assert d['sealed'] and d['progress'] == 0 and d['threshold'] == 3 and d['shares'] == 5"

# --- unseal -----------------------------------------------------------------
mv operator unseal "$(cat "$WORK/key.1")"
check_rc "a key in argv is refused as a usage error" 2
check "...naming why" err_has "not accepted on the command line"
check "...and the server never saw it (serve.err has no key)" bash -c "! grep -qF -- \"\$(cut -d- -f4 '$WORK/key.1')\" '$WORK/serve.err'"

unseal_with "$WORK/key.2"
check_rc "operator unseal reads key 2 from stdin" 0
check "it prints the progress" out_has "unseal progress: 1 of 3"
printf 'mvshare1-garbage\n' >"$WORK/bad"
unseal_with "$WORK/bad"
check_rc "a malformed key exits 1" 1
check "...saying it is not an unseal key" err_has "not an unseal key"
unseal_with "$WORK/other.1"
check_rc "a key of another vault exits 1" 1
check "...saying so" err_has "belongs to another vault"
check "the refused keys are logged by the server without the key" bash -c "
grep -q 'unseal key refused' '$WORK/serve.err' && ! grep -qF -- \"\$(cut -d- -f4 '$WORK/other.1')\" '$WORK/serve.err'"
unseal_with "$WORK/key.4"
check "key 4 gives 2 of 3" out_has "unseal progress: 2 of 3"
unseal_with "$WORK/key.5"
check_rc "the third key unseals" 0
check "...and says so" out_has "vault unsealed"

# --- it serves ----------------------------------------------------------
head -c 2000000 /dev/urandom >"$WORK/model.bin"
mv --token-file "$ROOT" push "$WORK/model.bin" acme/sealed-model
check_rc "push to the unsealed vault" 0
rm -f "$WORK/pulled.bin"
mv --token-file "$ROOT" pull acme/sealed-model "$WORK/pulled.bin"
check_rc "pull from the unsealed vault" 0
check "...byte-identical" cmp -s "$WORK/model.bin" "$WORK/pulled.bin"
mv --token-file "$ROOT" operator status
check "status: unsealed" out_has "sealed: no"
mv --token-file "$ROOT" admin audit tail -n 50 -o json
check "the refused keys were audited when the vault opened" jsonl "
u = [r for r in L if r['method'].endswith('/Unseal')]
assert [r['decision'] for r in u] == ['failed', 'failed', 'allowed'], u
assert 'not an unseal key' in u[0]['reason'] and 'another vault' in u[1]['reason'], u"

# --- seal ---------------------------------------------------------------
mv --token-file "$ROOT" operator seal
check_rc "operator seal (root) exits 0" 0
check "...and says sealed" out_has "vault sealed"
mv --token-file "$ROOT" pull acme/sealed-model "$WORK/again.bin"
check_rc "after seal: pull exits 6" 6
check "...vault is sealed" err_has "vault is sealed (0 of 3 unseal keys given)"
mv --token-file "$ROOT" operator status
check "status: sealed again" out_has "sealed: yes"
for i in 3 1 5; do unseal_with "$WORK/key.$i"; done
check "three other keys unseal it again" out_has "vault unsealed"
rm -f "$WORK/pulled.bin"
mv --token-file "$ROOT" pull acme/sealed-model "$WORK/pulled.bin"
check "after seal and unseal the version pulls byte-identical" cmp -s "$WORK/model.bin" "$WORK/pulled.bin"

# --- a restart starts sealed ------------------------------------------------
stop_server
check "the server stopped cleanly" grep -q "stopped" "$WORK/serve.err"
serve_sealed
mv --token-file "$ROOT" whoami
check_rc "after a restart the vault is sealed again" 6
stop_server
set +e
"$MODELVAULTD" serve --data-dir "$DATA" --master-key-file "$WORK/root.token" \
  --listen 127.0.0.1:0 >/dev/null 2>"$WORK/err"
rc=$?
set -e
check "serve refuses --master-key-file for a sealed vault" bash -c "[ $rc -eq 1 ] && grep -q 'drop --master-key-file' '$WORK/err'"

# --- offline commands take the unseal keys on stdin -------------------------
daemon() {  # daemon STDIN ARGS...: modelvaultd with stdin from a file
  local in=$1; shift
  set +e
  "$MODELVAULTD" "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}
cat "$WORK/key.2" "$WORK/key.4" "$WORK/key.5" >"$WORK/three"
cat "$WORK/key.2" "$WORK/key.4" >"$WORK/two"
daemon /dev/null verify --data-dir "$DATA"
check_rc "verify on a sealed vault without keys exits 1" 1
check "...naming --unseal-keys-stdin" err_has "with --unseal-keys-stdin"
daemon "$WORK/two" verify --data-dir "$DATA" --unseal-keys-stdin
check_rc "verify with two of three keys exits 1" 1
check "...saying three are needed" err_has "3 are needed"
cat "$WORK/key.1" "$WORK/key.2" "$WORK/other.1" >"$WORK/mixed"
daemon "$WORK/mixed" verify --data-dir "$DATA" --unseal-keys-stdin
check_rc "verify with a key of another vault exits 1" 1
check "...saying so" err_has "belongs to another vault"
daemon "$WORK/three" verify --data-dir "$DATA" --unseal-keys-stdin
check_rc "verify --unseal-keys-stdin with three keys exits 0" 0
check "...and checked the pushed version" grep -Eq '^ok: 1 versions, .* 0 problems$' "$WORK/out"
daemon "$WORK/three" root-token --data-dir "$DATA" --unseal-keys-stdin --root-token-file "$WORK/root2.token"
check_rc "root-token --unseal-keys-stdin issues a new root token" 0
serve_sealed
for i in 1 2 3; do unseal_with "$WORK/key.$i"; done
mv --token-file "$WORK/root2.token" whoami
check_rc "the new root token works once the vault is unsealed" 0
stop_server
finish
