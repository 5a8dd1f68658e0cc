#!/usr/bin/env bash
# End-to-end test of access control through the real binaries: modelvaultd
# and mvault as separate processes (issue [access], TESTING.md "End-to-end").
#
#   usage: access_e2e_test.sh BUILD_DIR
#
# Root logs in, writes a reader policy (acme/a-*) and a writer policy
# (acme/runs/**), creates a principal and a token for each, and each token
# can do exactly what its policy says; revocation takes effect on the next
# call; login/logout; then an mTLS run with certificates made here by openssl.
# Needs BUILD_DIR/server/modelvaultd, BUILD_DIR/client/mvault (or $MODELVAULTD
# and $MVAULT), python3 and openssl. Each check prints "ok - ..." or
# "not ok - ..."; the last line is "N passed, M failed".
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"
command -v openssl >/dev/null || { echo "missing openssl" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_access_e2e.XXXXXX")
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

# mvs STDIN_FILE ARGS...: mv with stdin from a file.
mvs() {
  local in=$1; shift
  set +e
  "$MVAULT" "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}
mode_of() { stat -c %a "$1"; }

# --- server -----------------------------------------------------------------
cd "$WORK"
init_vault

# start_server [EXTRA SERVE FLAGS...]: sets SERVER_PID and PORT.
start_server() {
  launch_server "$@"
  if [[ -z $PORT ]]; then
    not_ok "server starts ($*): $(head -c 500 "$WORK/serve.err")"; finish
  fi
  export MODELVAULT_ADDR="127.0.0.1:$PORT"
}
start_server
ok "plaintext server listening on port $PORT"

unset MODELVAULT_TOKEN MODELVAULT_CACERT MODELVAULT_CLIENT_CERT MODELVAULT_CLIENT_KEY
export XDG_CONFIG_HOME="$WORK/xdg"  # never the developer's own token
SAVED="$XDG_CONFIG_HOME/modelvault/token"

# --- login / whoami / logout (root) ------------------------------------------
printf 'mvt_notarealtokennotarealtokennotarealtoken0\n' >"$WORK/bogus.token"
mvs "$WORK/bogus.token" login --token-stdin
check_rc "login with an invalid token exits 4" 4
check "failed login writes no token file" test ! -e "$SAVED"

mvs "$ROOT_TOKEN_FILE" login --token-stdin
check_rc "root logs in with --token-stdin" 0
check "login prints 'logged in as root'" grep -qx "logged in as root" "$WORK/out"
check "saved token is the root token" cmp -s <(tr -d '\n' <"$SAVED") <(tr -d '\n' <"$ROOT_TOKEN_FILE")
check "saved token file is mode 0600" test "$(mode_of "$SAVED")" = 600
check "created config dir is mode 0700" test "$(mode_of "$XDG_CONFIG_HOME/modelvault")" = 700
check "no temporary left beside the token" \
  test "$(ls -A "$XDG_CONFIG_HOME/modelvault" | wc -l)" -eq 1

mv whoami
check_rc "whoami with the saved token" 0
check "whoami text names the principal" grep -q '^principal: *root$' "$WORK/out"
check "whoami text shows the accessor line" grep -q '^accessor: ' "$WORK/out"
mv whoami -o json
check_rc "whoami -o json" 0
check "whoami -o json has stable fields" json "
assert d['principal'] == 'root', d
for k in ('kind', 'policies', 'accessor', 'tls_identity', 'expires_at', 'uses_left'):
    assert k in d, k
assert isinstance(d['policies'], list), d
assert d['tls_identity'] is None, d
"

mv logout
check_rc "logout" 0
check "logout removes the token file" test ! -e "$SAVED"
check "logout says what it removed" out_has "removed $SAVED"
mv logout
check_rc "logout when logged out is fine" 0
check "second logout says there was no token" out_has "not logged in"
mv whoami
check_rc "whoami after logout has no token (exit 4)" 4
mv login mvt_on_argv
check_rc "a token as a bare argument is a usage error" 2
mvs "$ROOT_TOKEN_FILE" login --token-stdin
check_rc "root logs in again" 0

# --- root sets up artifacts and policies ------------------------------------
head -c 200000 /dev/urandom >"$WORK/a.bin"
printf 'secret\n' >"$WORK/secret.bin"
printf 'ckpt\n' >"$WORK/ckpt.bin"
mv push "$WORK/a.bin" acme/a-model
check_rc "root pushes acme/a-model" 0
mv push "$WORK/secret.bin" acme/b-secret
check_rc "root pushes acme/b-secret" 0
mv push "$WORK/ckpt.bin" acme/runs/r1/ckpt
check_rc "root pushes acme/runs/r1/ckpt" 0

cat >"$WORK/reader.json" <<'EOF'
{"rules": [{"effect": "allow", "artifacts": ["acme/a-*"], "actions": ["read", "list"]}]}
EOF
cat >"$WORK/writer.json" <<'EOF'
{"rules": [{"effect": "allow", "artifacts": ["acme/runs/**"],
            "actions": ["read", "write", "list", "delete", "alias"]}]}
EOF
mv admin policy put reader "$WORK/reader.json"
check_rc "policy put reader" 0
mvs "$WORK/writer.json" admin policy put writer -
check_rc "policy put writer from stdin" 0
mv admin policy ls
check_rc "policy ls" 0
check "policy ls lists both" bash -c "grep -qx reader '$WORK/out' && grep -qx writer '$WORK/out'"
mv admin policy ls -o json
check "policy ls -o json" json "assert {'reader', 'writer'} <= set(d['policies']), d"
mv admin policy get reader
check_rc "policy get" 0
check "policy get prints the document as JSON" json "
assert d['rules'][0]['artifacts'] == ['acme/a-*'], d
assert sorted(d['rules'][0]['actions']) == ['list', 'read'], d"
mv admin policy get reader -o json
check "policy get -o json wraps name and policy" json "
assert d['name'] == 'reader' and 'rules' in d['policy'], d"
printf '{"rules": [{"effect": "allow", "artifacts": ["x/*"], "actions": ["fly"]}]}' >"$WORK/bad.json"
mv admin policy put bad "$WORK/bad.json"
check_rc "server rejects an unknown action (exit 1)" 1
check "rejection names the bad field" err_has "actions"
printf '{"rules": [' >"$WORK/broken.json"
mv admin policy put broken "$WORK/broken.json"
check_rc "malformed JSON is a usage error before any call" 2
mv admin policy get nosuch
check_rc "policy get of a missing policy exits 3" 3

# --- principals and tokens --------------------------------------------------
mv admin principal create alice --policy reader
check_rc "principal create alice (reader)" 0
check "create prints the principal" out_has "alice"
mv admin principal create bob --kind service --policy writer -o json
check_rc "principal create bob (writer, service)" 0
check "principal create -o json" json "
assert d['name'] == 'bob' and d['kind'] == 'service', d
assert d['policies'] == ['writer'], d
assert d['cert_identity'] is None and d['created_at'].endswith('Z'), d"
mv admin principal create alice
check_rc "creating alice twice fails" 1
mv admin principal create carol --policy nosuch
check_rc "a principal with an unknown policy is refused (exit 3)" 3
check "the refusal names the policy" err_has "policy not found: nosuch"
mv admin principal ls
check_rc "principal ls" 0
check "principal ls table shows alice and bob" \
  bash -c "grep -q '^alice ' '$WORK/out' && grep -q '^bob ' '$WORK/out'"
mv admin principal show alice -o json
check "principal show -o json" json "assert d['name'] == 'alice' and d['policies'] == ['reader'], d"
mv admin principal show nobody
check_rc "principal show of a missing principal exits 3" 3

set +e
ALICE_TOKEN=$("$MVAULT" admin token create --principal alice --ttl 1h 2>"$WORK/err")
RC=$?
set -e
check_rc "token create for alice" 0
check "token create prints only the token on stdout" \
  bash -c "[[ '$ALICE_TOKEN' =~ ^mvt_[A-Za-z0-9_-]+$ ]]"
check "token create prints the accessor on stderr" err_has "accessor: "
ALICE_ACCESSOR=$(sed -n 's/^accessor: //p' "$WORK/err")
printf '%s\n' "$ALICE_TOKEN" >"$WORK/alice.token"

mv admin token create --principal bob -o json
check_rc "token create -o json for bob" 0
check "token create -o json has stable fields" json "
assert d['token'].startswith('mvt_'), d
assert d['accessor'] and d['principal'] == 'bob', d
assert isinstance(d['policies'], list), d
assert d['expires_at'] is None and d['uses_left'] is None, d
assert d['created_at'].endswith('Z'), d"
python3 -c "import json; print(json.load(open('$WORK/out'))['token'])" >"$WORK/bob.token"
BOB_ACCESSOR=$(python3 -c "import json; print(json.load(open('$WORK/out'))['accessor'])")

mv admin token create --principal alice --ttl 8hr
check_rc "bad --ttl is a usage error" 2
check "bad --ttl error names the flag" err_has "--ttl"
mv admin token create --principal nobody
check_rc "token for a missing principal is refused (exit 3)" 3
check "the refusal names the principal" err_has "principal not found: nobody"

mv admin token ls --principal alice
check_rc "token ls --principal alice" 0
check "token ls shows alice's accessor" out_has "$ALICE_ACCESSOR"
check "token ls never shows the token itself" bash -c "! grep -qF -- '$ALICE_TOKEN' '$WORK/out'"
mv admin token ls -o json
check "token ls -o json lists both" json "
accs = {t['accessor'] for t in d['tokens']}
assert {'$ALICE_ACCESSOR', '$BOB_ACCESSOR'} <= accs, d
assert all('token' not in t for t in d['tokens']), d"
mv admin token lookup "$ALICE_ACCESSOR" -o json
check_rc "token lookup" 0
check "token lookup shows principal and expiry" json "
assert d['principal'] == 'alice' and d['expires_at'] is not None, d"

# --- what the reader may do --------------------------------------------------
A=(--token-file "$WORK/alice.token")
mv "${A[@]}" whoami -o json
check "reader's whoami is alice with her accessor" json "
assert d['principal'] == 'alice' and d['accessor'] == '$ALICE_ACCESSOR', d
assert d['policies'] == ['reader'], d
assert d['expires_at'] is not None and d['expires_at'].endswith('Z'), d"
mv "${A[@]}" pull acme/a-model "$WORK/alice-a.bin"
check_rc "reader pulls acme/a-model" 0
check "reader's pull is byte-identical" cmp -s "$WORK/a.bin" "$WORK/alice-a.bin"
mv "${A[@]}" info acme/a-model
check_rc "reader reads info of acme/a-model" 0
mv "${A[@]}" ls -o json
check_rc "reader ls" 0
check "reader's ls shows only acme/a-*" json "
names = {v['name'] for v in d['versions']}
assert names == {'acme/a-model'}, names"
mv "${A[@]}" pull acme/b-secret "$WORK/alice-b.bin"
check_rc "reader cannot pull acme/b-secret (exit 4)" 4
check "denied pull leaves no file" test ! -e "$WORK/alice-b.bin"
mv "${A[@]}" pull acme/b-nothing "$WORK/alice-n.bin"
check_rc "denied whether or not the artifact exists (exit 4)" 4
mv "${A[@]}" push "$WORK/a.bin" acme/a-new
check_rc "reader cannot push (exit 4)" 4
mv "${A[@]}" rm acme/a-model@1
check_rc "reader cannot rm (exit 4)" 4
mv "${A[@]}" alias set acme/a-model@1 prod
check_rc "reader cannot set an alias (exit 4)" 4
mv "${A[@]}" admin principal ls
check_rc "reader cannot list principals (exit 4)" 4
mv "${A[@]}" admin token create --principal alice
check_rc "reader cannot create tokens (exit 4)" 4

# --- what the writer may do --------------------------------------------------
B=(--token-file "$WORK/bob.token")
mv "${B[@]}" push "$WORK/ckpt.bin" acme/runs/r2/ckpt
check_rc "writer pushes acme/runs/r2/ckpt" 0
mv "${B[@]}" pull acme/runs/r1/ckpt "$WORK/bob-r1.bin"
check_rc "writer pulls acme/runs/r1/ckpt" 0
mv "${B[@]}" ls acme/ -o json
check "writer's ls shows only acme/runs/**" json "
names = {v['name'] for v in d['versions']}
assert names == {'acme/runs/r1/ckpt', 'acme/runs/r2/ckpt'}, names"
mv "${B[@]}" alias set acme/runs/r2/ckpt@1 best
check_rc "writer sets an alias" 0
mv "${B[@]}" alias rm acme/runs/r2/ckpt best
check_rc "writer removes an alias" 0
mv "${B[@]}" rm acme/runs/r2/ckpt@1
check_rc "writer deletes a version" 0
mv "${B[@]}" push "$WORK/ckpt.bin" acme/a-model
check_rc "writer cannot push outside acme/runs/** (exit 4)" 4
mv "${B[@]}" pull acme/a-model "$WORK/bob-a.bin"
check_rc "writer cannot pull acme/a-model (exit 4)" 4
mv "${B[@]}" push "$WORK/ckpt.bin" acme/runsx
check_rc "writer's ** does not match a sibling prefix (exit 4)" 4

# --- attach / detach --------------------------------------------------------
mv admin principal attach alice writer
check_rc "attach writer to alice" 0
check "attach names the policies" out_has "writer"
mv "${A[@]}" push "$WORK/ckpt.bin" acme/runs/r3/ckpt
check_rc "alice can push after attach" 0
mv admin principal detach alice writer -o json
check "detach -o json shows the remaining policies" json "assert d['policies'] == ['reader'], d"
mv "${A[@]}" push "$WORK/ckpt.bin" acme/runs/r4/ckpt
check_rc "alice cannot push after detach (exit 4)" 4

# --- limited tokens, revocation ---------------------------------------------
set +e
ONCE=$("$MVAULT" admin token create --principal alice --uses 1 2>/dev/null)
set -e
printf '%s\n' "$ONCE" >"$WORK/once.token"
mv --token-file "$WORK/once.token" ls
check_rc "a one-use token works once" 0
mv --token-file "$WORK/once.token" ls
check_rc "a one-use token is spent after one call (exit 4)" 4

mv admin token revoke "$ALICE_ACCESSOR"
check_rc "token revoke" 0
mv "${A[@]}" pull acme/a-model "$WORK/alice-again.bin"
check_rc "revoked token fails on the next call (exit 4)" 4
mv "${A[@]}" whoami
check_rc "revoked token: whoami exits 4" 4
mv admin token lookup "$ALICE_ACCESSOR"
check_rc "a revoked token is gone from lookup (exit 3)" 3
check "lookup names the accessor" err_has "token not found: accessor $ALICE_ACCESSOR"

mv admin principal rm bob
check_rc "principal rm bob" 0
check "principal rm reports revoked tokens" out_has "revoked 1 token"
mv "${B[@]}" ls
check_rc "removed principal's token fails (exit 4)" 4

mv admin policy rm reader
check_rc "policy rm of a policy alice still holds is refused" 1
check "... naming who still uses it" err_has "still used by principals [alice"
mv admin policy get reader
check_rc "... and the policy is still there" 0
mv admin policy rm nosuch
check_rc "policy rm of a missing policy exits 3" 3

# --- mTLS -------------------------------------------------------------------
mv admin principal create trainer --kind service --cert-identity spiffe://acme/trainer --policy writer
check_rc "a --cert-identity without its kind is a usage error" 2
check "... saying which kinds there are" grep -q 'uri:spiffe://acme/trainer (a URI SAN) or cn:' "$WORK/err"
mv admin principal create trainer --kind service --cert-identity uri:spiffe://acme/trainer --policy writer
check_rc "principal create trainer with a cert identity" 0

# --- root-token: offline recovery -------------------------------------------
set +e
"$MODELVAULTD" root-token --data-dir "$DATA" --master-key-file "$KEY" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "root-token refuses while a server holds the data dir" 1
check "the refusal says to stop the server" err_has "stop it"
stop_server
set +e
"$MODELVAULTD" root-token --data-dir "$DATA" --master-key-file "$KEY" \
  --root-token-file "$WORK/root2.token" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "root-token issues a new root token with the server stopped" 0
check "the new root token file is mode 0600" test "$(mode_of "$WORK/root2.token")" = 600
start_server
mv --token-file "$WORK/root2.token" whoami
check_rc "the recovered root token authenticates" 0
check "... as root" out_has "root"
mv --token-file "$ROOT_TOKEN_FILE" whoami
check_rc "the old root token still works" 0
stop_server

PKI="$WORK/pki"
mkdir -p "$PKI"
ossl() { openssl "$@" >>"$PKI/openssl.log" 2>&1; }
make_ca() {  # make_ca NAME
  ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$PKI/$1.key" -out "$PKI/$1.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
make_leaf() {  # make_leaf CA NAME CN EXT
  ossl req -newkey rsa:2048 -nodes -subj "/CN=$3" -keyout "$PKI/$2.key" -out "$PKI/$2.csr"
  printf '%s\n' "$4" >"$PKI/$2.ext"
  ossl x509 -req -in "$PKI/$2.csr" -CA "$PKI/$1.pem" -CAkey "$PKI/$1.key" \
    -CAcreateserial -days 2 -out "$PKI/$2.pem" -extfile "$PKI/$2.ext"
}
make_ca ca
make_ca other-ca
make_leaf ca server 127.0.0.1 "subjectAltName=IP:127.0.0.1
extendedKeyUsage=serverAuth"
make_leaf ca trainer trainer "subjectAltName=URI:spiffe://acme/trainer
extendedKeyUsage=clientAuth"
make_leaf other-ca intruder trainer "subjectAltName=URI:spiffe://acme/trainer
extendedKeyUsage=clientAuth"
# Signed by the right CA, with trainer's URI as its CN and no URI SAN.
make_leaf ca posing 'spiffe:\/\/acme\/trainer' "extendedKeyUsage=clientAuth"
chmod 600 "$PKI"/*.key
check "openssl made the test certificates" test -s "$PKI/trainer.pem" -a -s "$PKI/server.pem"

start_server --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key" --client-ca "$PKI/ca.pem"
ok "mTLS server listening on port $PORT"
mv logout
TLS=(--cacert "$PKI/ca.pem")
CERT=(--client-cert "$PKI/trainer.pem" --client-key "$PKI/trainer.key")

mv "${TLS[@]}" "${CERT[@]}" whoami
check_rc "whoami with the trainer's client certificate and no token" 0
check "the certificate authenticates as trainer" grep -q '^principal: *trainer$' "$WORK/out"
mv "${TLS[@]}" "${CERT[@]}" whoami -o json
check "whoami -o json shows the TLS identity and no token" json "
assert d['principal'] == 'trainer' and d['kind'] == 'service', d
assert d['tls_identity'] == 'uri:spiffe://acme/trainer', d
assert d['accessor'] is None, d"
MODELVAULT_CACERT="$PKI/ca.pem" MODELVAULT_CLIENT_CERT="$PKI/trainer.pem" \
  MODELVAULT_CLIENT_KEY="$PKI/trainer.key" mv whoami
check_rc "TLS settings from the environment" 0
check "environment TLS authenticates as trainer" grep -q '^principal: *trainer$' "$WORK/out"
MODELVAULT_CACERT="$PKI/other-ca.pem" mv "${TLS[@]}" "${CERT[@]}" whoami
check_rc "--cacert beats \$MODELVAULT_CACERT" 0
mv "${TLS[@]}" "${CERT[@]}" push "$WORK/ckpt.bin" acme/runs/t1/ckpt
check_rc "trainer pushes under acme/runs/** by certificate" 0
mv "${TLS[@]}" "${CERT[@]}" pull acme/a-model "$WORK/trainer-a.bin"
check_rc "trainer cannot pull acme/a-model (exit 4)" 4

mv "${TLS[@]}" --token-file "$ROOT_TOKEN_FILE" whoami
check_rc "without a client certificate the mTLS server refuses (exit 6)" 6
check "no client certificate: the handshake failure is named" \
  err_has "(connection or TLS handshake failed)"
mv --token-file "$ROOT_TOKEN_FILE" whoami
check_rc "plaintext client against the TLS server exits 6" 6
mv --cacert "$PKI/other-ca.pem" "${CERT[@]}" whoami
check_rc "a server certificate from another CA is refused (exit 6)" 6
check "a failed handshake is one 'mvault: error:' line naming TLS" \
  bash -c "[[ \$(wc -l <'$WORK/err') -eq 1 ]] && grep -q '^mvault: error: .*TLS' '$WORK/err'"
mv "${TLS[@]}" --client-cert "$PKI/intruder.pem" --client-key "$PKI/intruder.key" whoami
check_rc "a client certificate from another CA is refused (exit 6)" 6
check "another CA: the handshake failure is named" \
  err_has "(connection or TLS handshake failed)"
mv "${TLS[@]}" --client-cert "$PKI/posing.pem" --client-key "$PKI/posing.key" whoami
check_rc "a CN spelled like trainer's URI SAN is not trainer (exit 4)" 4
mv "${TLS[@]}" --client-cert "$PKI/trainer.pem" whoami
check_rc "client certificate without key is a usage error" 2
mv "${TLS[@]}" --client-key "$PKI/trainer.key" whoami
check_rc "client key without certificate is a usage error" 2
MODELVAULT_CACERT= mv "${CERT[@]}" whoami
check_rc "a client certificate without a CA is a usage error (exit 2)" 2
check "... saying it needs --cacert" err_has "--client-cert needs --cacert"
mv --cacert "$PKI/missing.pem" whoami
check_rc "unreadable --cacert is a usage error" 2
check "unreadable --cacert error is one line naming the flag" \
  bash -c "[[ \$(wc -l <'$WORK/err') -eq 1 ]] && grep -q -- '--cacert' '$WORK/err'"

stop_server
finish
