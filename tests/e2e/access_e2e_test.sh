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
# Every denied or unauthenticated call is refused on artifacts that exist
# (and on ones that do not) with one exact error line, and changes nothing:
# root reads back every version, alias, principal, token and policy, a pull
# leaves no file and no .partial, and the audit log holds exactly one record
# of the refusal.
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

# --- "denied means nothing happened" (issue #22) -----------------------------
# Every refused call below is followed by `denied` or `unauthenticated`, which
# check its one error line and then, with root's token, that it changed
# nothing anywhere in the vault and left exactly one audit record.
# `snapshot` takes the state to compare with and marks the audit log; call it
# again after anything that is allowed to change the vault.
# rootv ARGS...: mvault with the root token (whoever is logged in), stdout to
# stdout; leaves $WORK/out, $WORK/err and RC alone.
rootv() { "$MVAULT" --token-file "$ROOT_TOKEN_FILE" "$@" 2>>"$WORK/rootv.err"; }
cat >"$WORK/mvstate.py" <<'EOF'
import glob, json, sys
def records(path):
    return [json.loads(l) for l in open(path) if l.strip()]
cmd = sys.argv[1]
if cmd == "state":  # DIR: one sorted line per version, principal, token, policy
    d = sys.argv[2]
    lines = ["version " + json.dumps(v, sort_keys=True)
             for v in json.load(open(d + "/ls"))["versions"]]
    lines += ["principal " + json.dumps(p, sort_keys=True)
              for p in json.load(open(d + "/principals"))["principals"]]
    lines += ["token " + json.dumps(t, sort_keys=True)
              for t in json.load(open(d + "/tokens"))["tokens"]]
    lines += ["policy " + json.dumps(json.load(open(f)), sort_keys=True)
              for f in glob.glob(d + "/policy.*")]
    print("\n".join(sorted(lines)))
elif cmd == "head":  # FILE: the newest sequence in a tail -o json
    print(max([r["sequence"] for r in records(sys.argv[2])] or [0]))
elif cmd == "since":  # FILE MARK_FILE [DECISION PRINCIPAL METHOD RESOURCE REASON]
    path, mark_file, want = sys.argv[2], sys.argv[3], sys.argv[4:]
    mark = int(open(mark_file).read())
    L = [r for r in records(path) if r["sequence"] > mark]
    # Root's own reads of the state and of the log are not the call's.
    calls = [r for r in L if not (r["principal"] == "root" and r["decision"] == "allowed")]
    open(mark_file, "w").write(str(max([r["sequence"] for r in L] + [mark])))
    got = [[r["decision"], r["principal"], r["method"].rsplit("/", 1)[-1],
            r["resource"], r["reason"]] for r in calls]
    if got != ([want] if want else []):
        print("# want: %s" % (want or "no record"))
        for g in got: print("# got:  %s" % g)
        sys.exit(1)
EOF
# read_state DIR: root's view, as JSON files in DIR, of every version (refs,
# sha256, aliases, labels), principal, token (uses left, expiry) and policy.
read_state() {
  local p pids=() i=0 failed=0
  rm -rf "$1" && mkdir -p "$1"
  rootv admin policy ls >"$1/names" || failed=1
  # The reads are independent: run them side by side (the server's job is
  # to answer them; this script's is only to wait).
  rootv -o json ls >"$1/ls" & pids+=($!)
  rootv -o json admin principal ls >"$1/principals" & pids+=($!)
  rootv -o json admin token ls >"$1/tokens" & pids+=($!)
  while read -r p; do
    i=$((i + 1))
    rootv -o json admin policy get "$p" >"$1/policy.$i" & pids+=($!)
  done <"$1/names"
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [[ $failed -eq 0 ]] || echo "root could not read the state" >"$1/error"
}
# vault_state: the same, now, as one sorted line per object.
vault_state() { read_state "$WORK/state.now"; python3 "$WORK/mvstate.py" state "$WORK/state.now"; }
# snapshot: remembers root's view in $WORK/state and marks the audit log.
snapshot() {
  read_state "$WORK/state"
  rootv admin audit tail -n 1 -o json >"$WORK/head.jsonl"
  python3 "$WORK/mvstate.py" head "$WORK/head.jsonl" >"$WORK/mark"
}
# unchanged DESC: root's view is the snapshot's (else prints the difference
# and takes the new view, so that one change is reported once).
unchanged() {
  read_state "$WORK/state.now"
  if [[ -e $WORK/state/error || -e $WORK/state.now/error ]]; then
    not_ok "$1 (root could not read the state: $(tail -n 1 "$WORK/rootv.err"))"; return
  fi
  if diff -r -q "$WORK/state" "$WORK/state.now" >/dev/null; then ok "$1"; return; fi
  not_ok "$1"
  diff <(python3 "$WORK/mvstate.py" state "$WORK/state") \
       <(python3 "$WORK/mvstate.py" state "$WORK/state.now") | sed 's/^/# /' || true
  rm -rf "$WORK/state" && cp -r "$WORK/state.now" "$WORK/state"
}
# audited DESC [DECISION PRINCIPAL METHOD RESOURCE REASON]:
# since the mark (root's own allowed calls aside) the log holds exactly this
# one record, or none without arguments; moves the mark past them.
audited() {
  local desc=$1; shift
  if ! rootv admin audit tail -n 200 -o json >"$WORK/since.jsonl"; then
    not_ok "$desc (root could not read the log: $(tail -n 1 "$WORK/rootv.err"))"; return
  fi
  check "$desc" python3 "$WORK/mvstate.py" since "$WORK/since.jsonl" "$WORK/mark" "$@"
}
# error_is DESC LINE: the last mv's stderr is exactly LINE.
error_is() { check "$1" test "$(cat "$WORK/err")" = "$2"; }
# denied SUBJECT PRINCIPAL METHOD RESOURCE MESSAGE: after a PERMISSION_DENIED
# mv: the one error line, nothing changed, one denied audit record.
denied() {
  error_is "$1: error is '$5'" "mvault: error: $5"
  unchanged "$1: no version, alias, principal, token or policy changed"
  audited "$1: one audit record (denied, $2, $3${4:+ $4})" denied "$2" "$3" "$4" "$5"
}
UNAUTH="missing, invalid or expired token"
# unauthenticated SUBJECT METHOD: the same for UNAUTHENTICATED,
# whose record names no principal and no artifact.
unauthenticated() {
  error_is "$1: error is 'unauthenticated: $UNAUTH'" "mvault: error: unauthenticated: $UNAUTH"
  unchanged "$1: no version, alias, principal, token or policy changed"
  audited "$1: one audit record (unauthenticated, $2)" unauthenticated "" "$2" "" "$UNAUTH"
}
# state_of NAME: root's view of artifact NAME, one line per version:
# "REF SHA256 aliases=A,B labels=K=V".
state_of() {
  rootv -o json ls "$1" | python3 -c '
import json, sys
for v in json.load(sys.stdin)["versions"]:
    if v["name"] == sys.argv[1]:
        print(v["ref"], v["sha256"], "aliases=" + ",".join(sorted(v["aliases"])),
              "labels=" + ",".join("%s=%s" % kv for kv in sorted(v["labels"].items())))' "$1"
}
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
# no_file SUBJECT DEST: a refused pull left neither DEST nor DEST.partial.
no_file() { check "$1: no destination and no .partial file" test ! -e "$2" -a ! -e "$2.partial"; }

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
snapshot
mvs "$WORK/bogus.token" login --token-stdin
check_rc "login with an invalid token exits 4" 4
check "failed login writes no token file" test ! -e "$SAVED"
unauthenticated "login with an invalid token" WhoAmI

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
error_is "whoami without a token: the error says how to give one" \
  "mvault: error: unauthenticated: no token: run \`mvault login\`, use --token-file FILE, set MODELVAULT_TOKEN, or write it to $SAVED"
audited "whoami without a token is refused before any call (no audit record)"
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
mv push "$WORK/secret.bin" acme/b-secret --label stage=secret --alias prod
check_rc "root pushes acme/b-secret" 0
mv push "$WORK/ckpt.bin" acme/runs/r1/ckpt --alias best
check_rc "root pushes acme/runs/r1/ckpt" 0
# What the refusals below must leave exactly as it is.
B_SECRET="acme/b-secret@1 $(sha_of "$WORK/secret.bin") aliases=prod labels=stage=secret"
R1_CKPT="acme/runs/r1/ckpt@1 $(sha_of "$WORK/ckpt.bin") aliases=best labels="
A_MODEL="acme/a-model@1 $(sha_of "$WORK/a.bin") aliases= labels="
check "root sees acme/b-secret@1 with its sha256, alias prod, label" test "$(state_of acme/b-secret)" = "$B_SECRET"
check "root sees acme/runs/r1/ckpt@1 with its sha256 and alias best" test "$(state_of acme/runs/r1/ckpt)" = "$R1_CKPT"
check "root sees acme/a-model@1 with its sha256" test "$(state_of acme/a-model)" = "$A_MODEL"

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
# Refused on artifacts that exist (acme/b-secret, acme/runs/r1/ckpt, and
# acme/a-model, which alice may read but not change) and on ones that do not.
snapshot
mv "${A[@]}" pull acme/b-secret "$WORK/alice-b.bin"
check_rc "reader cannot pull acme/b-secret (exit 4)" 4
no_file "reader's pull of acme/b-secret" "$WORK/alice-b.bin"
denied "reader's pull of acme/b-secret" alice Download acme/b-secret \
  "permission denied: read on acme/b-secret"
mv "${A[@]}" pull acme/b-nothing "$WORK/alice-n.bin"
check_rc "denied whether or not the artifact exists (exit 4)" 4
no_file "reader's pull of missing acme/b-nothing" "$WORK/alice-n.bin"
denied "reader's pull of missing acme/b-nothing" alice Download acme/b-nothing \
  "permission denied: read on acme/b-nothing"
mv "${A[@]}" pull acme/runs/r1/ckpt@best "$WORK/alice-r1.bin"
check_rc "reader cannot pull acme/runs/r1/ckpt@best (exit 4)" 4
no_file "reader's pull of acme/runs/r1/ckpt@best" "$WORK/alice-r1.bin"
denied "reader's pull of acme/runs/r1/ckpt@best" alice Download acme/runs/r1/ckpt \
  "permission denied: read on acme/runs/r1/ckpt"
mv "${A[@]}" info acme/b-secret
check_rc "reader cannot read info of acme/b-secret (exit 4)" 4
denied "reader's info of acme/b-secret" alice GetVersion acme/b-secret \
  "permission denied: read on acme/b-secret"

mv "${A[@]}" push "$WORK/a.bin" acme/a-new
check_rc "reader cannot push (exit 4)" 4
denied "reader's push of new acme/a-new" alice Upload acme/a-new \
  "permission denied: write on acme/a-new"
mv "${A[@]}" push "$WORK/a.bin" acme/a-model
check_rc "reader cannot push a version of acme/a-model, which she may read (exit 4)" 4
denied "reader's push to acme/a-model" alice Upload acme/a-model \
  "permission denied: write on acme/a-model"
mv "${A[@]}" push "$WORK/a.bin" acme/b-secret
check_rc "reader cannot push over acme/b-secret (exit 4)" 4
denied "reader's push to acme/b-secret" alice Upload acme/b-secret \
  "permission denied: write on acme/b-secret"
mv "${A[@]}" push "$WORK/a.bin" acme/runs/r1/ckpt --alias best
check_rc "reader cannot push over acme/runs/r1/ckpt (exit 4)" 4
denied "reader's push to acme/runs/r1/ckpt" alice Upload acme/runs/r1/ckpt \
  "permission denied: write on acme/runs/r1/ckpt"

mv "${A[@]}" rm acme/a-model@1
check_rc "reader cannot rm (exit 4)" 4
denied "reader's rm of acme/a-model@1" alice DeleteVersion acme/a-model \
  "permission denied: delete on acme/a-model"
mv "${A[@]}" rm acme/b-secret@1
check_rc "reader cannot rm acme/b-secret@1 (exit 4)" 4
denied "reader's rm of acme/b-secret@1" alice DeleteVersion acme/b-secret \
  "permission denied: delete on acme/b-secret"
mv "${A[@]}" rm acme/runs/r1/ckpt@best
check_rc "reader cannot rm acme/runs/r1/ckpt@best (exit 4)" 4
denied "reader's rm of acme/runs/r1/ckpt@best" alice DeleteVersion acme/runs/r1/ckpt \
  "permission denied: delete on acme/runs/r1/ckpt"

mv "${A[@]}" alias set acme/a-model@1 prod
check_rc "reader cannot set an alias (exit 4)" 4
denied "reader's alias set on acme/a-model@1" alice SetAlias acme/a-model \
  "permission denied: alias on acme/a-model"
mv "${A[@]}" alias set acme/b-secret@1 stable
check_rc "reader cannot set an alias on acme/b-secret@1 (exit 4)" 4
denied "reader's alias set on acme/b-secret@1" alice SetAlias acme/b-secret \
  "permission denied: alias on acme/b-secret"
mv "${A[@]}" alias rm acme/b-secret prod
check_rc "reader cannot remove alias prod of acme/b-secret (exit 4)" 4
denied "reader's alias rm of acme/b-secret prod" alice DeleteAlias acme/b-secret \
  "permission denied: alias on acme/b-secret"
mv "${A[@]}" alias rm acme/runs/r1/ckpt best
check_rc "reader cannot remove alias best of acme/runs/r1/ckpt (exit 4)" 4
denied "reader's alias rm of acme/runs/r1/ckpt best" alice DeleteAlias acme/runs/r1/ckpt \
  "permission denied: alias on acme/runs/r1/ckpt"

mv "${A[@]}" admin principal ls
check_rc "reader cannot list principals (exit 4)" 4
denied "reader's principal ls" alice ListPrincipals "" "permission denied: admin:principals"
mv "${A[@]}" admin token create --principal alice
check_rc "reader cannot create tokens (exit 4)" 4
denied "reader's token create" alice CreateToken "" "permission denied: admin:tokens"
mv "${A[@]}" admin principal attach alice writer
check_rc "reader cannot attach a policy to herself (exit 4)" 4
denied "reader's principal attach" alice AttachPolicy "" "permission denied: admin:principals"
mv "${A[@]}" admin policy put reader "$WORK/writer.json"
check_rc "reader cannot rewrite her own policy (exit 4)" 4
denied "reader's policy put" alice PutPolicy "" "permission denied: admin:policies"
mv "${A[@]}" admin token revoke "$BOB_ACCESSOR"
check_rc "reader cannot revoke bob's token (exit 4)" 4
denied "reader's token revoke" alice RevokeToken "" "permission denied: admin:tokens"

check "after the reader's refusals acme/b-secret is as pushed" test "$(state_of acme/b-secret)" = "$B_SECRET"
check "after the reader's refusals acme/runs/r1/ckpt is as pushed" test "$(state_of acme/runs/r1/ckpt)" = "$R1_CKPT"
check "after the reader's refusals acme/a-model is as pushed" test "$(state_of acme/a-model)" = "$A_MODEL"

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
snapshot
mv "${B[@]}" push "$WORK/ckpt.bin" acme/a-model
check_rc "writer cannot push outside acme/runs/** (exit 4)" 4
denied "writer's push to acme/a-model" bob Upload acme/a-model \
  "permission denied: write on acme/a-model"
mv "${B[@]}" pull acme/a-model "$WORK/bob-a.bin"
check_rc "writer cannot pull acme/a-model (exit 4)" 4
no_file "writer's pull of acme/a-model" "$WORK/bob-a.bin"
denied "writer's pull of acme/a-model" bob Download acme/a-model \
  "permission denied: read on acme/a-model"
mv "${B[@]}" push "$WORK/ckpt.bin" acme/runsx
check_rc "writer's ** does not match a sibling prefix (exit 4)" 4
denied "writer's push to acme/runsx" bob Upload acme/runsx \
  "permission denied: write on acme/runsx"
mv "${B[@]}" rm acme/b-secret@1
check_rc "writer cannot rm acme/b-secret@1 (exit 4)" 4
denied "writer's rm of acme/b-secret@1" bob DeleteVersion acme/b-secret \
  "permission denied: delete on acme/b-secret"
mv "${B[@]}" alias set acme/b-secret@1 best
check_rc "writer cannot set an alias on acme/b-secret@1 (exit 4)" 4
denied "writer's alias set on acme/b-secret@1" bob SetAlias acme/b-secret \
  "permission denied: alias on acme/b-secret"

# --- attach / detach --------------------------------------------------------
mv admin principal attach alice writer
check_rc "attach writer to alice" 0
check "attach names the policies" out_has "writer"
mv "${A[@]}" push "$WORK/ckpt.bin" acme/runs/r3/ckpt
check_rc "alice can push after attach" 0
mv admin principal detach alice writer -o json
check "detach -o json shows the remaining policies" json "assert d['policies'] == ['reader'], d"
snapshot
mv "${A[@]}" push "$WORK/ckpt.bin" acme/runs/r4/ckpt
check_rc "alice cannot push after detach (exit 4)" 4
denied "alice's push after detach" alice Upload acme/runs/r4/ckpt \
  "permission denied: write on acme/runs/r4/ckpt"

# --- limited tokens, revocation ---------------------------------------------
set +e
ONCE=$("$MVAULT" admin token create --principal alice --uses 1 2>/dev/null)
set -e
printf '%s\n' "$ONCE" >"$WORK/once.token"
mv --token-file "$WORK/once.token" ls
check_rc "a one-use token works once" 0
snapshot
mv --token-file "$WORK/once.token" ls
check_rc "a one-use token is spent after one call (exit 4)" 4
unauthenticated "a spent one-use token's ls" ListVersions

mv admin token revoke "$ALICE_ACCESSOR"
check_rc "token revoke" 0
snapshot
mv "${A[@]}" pull acme/a-model "$WORK/alice-again.bin"
check_rc "revoked token fails on the next call (exit 4)" 4
no_file "a revoked token's pull" "$WORK/alice-again.bin"
unauthenticated "a revoked token's pull" Download
mv "${A[@]}" whoami
check_rc "revoked token: whoami exits 4" 4
unauthenticated "a revoked token's whoami" WhoAmI
mv admin token lookup "$ALICE_ACCESSOR"
check_rc "a revoked token is gone from lookup (exit 3)" 3
check "lookup names the accessor" err_has "token not found: accessor $ALICE_ACCESSOR"

mv admin principal rm bob
check_rc "principal rm bob" 0
check "principal rm reports revoked tokens" out_has "revoked 1 token"
snapshot
mv "${B[@]}" ls
check_rc "removed principal's token fails (exit 4)" 4
unauthenticated "a removed principal's token's ls" ListVersions

snapshot
mv admin policy rm reader
check_rc "policy rm of a policy alice still holds is refused" 1
check "... naming who still uses it" err_has "still used by principals [alice"
unchanged "refused policy rm of reader: no version, alias, principal, token or policy changed"
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
# Root has no certificate: what the mTLS run changed is read back after it,
# on a plaintext server again.
snapshot
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
no_file "trainer's pull of acme/a-model" "$WORK/trainer-a.bin"
error_is "trainer's pull of acme/a-model: error is 'permission denied: read on acme/a-model'" \
  "mvault: error: permission denied: read on acme/a-model"

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
error_is "the posing certificate: error is 'unauthenticated: $UNAUTH'" \
  "mvault: error: unauthenticated: $UNAUTH"
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
start_server
T1_CKPT="acme/runs/t1/ckpt@1 $(sha_of "$WORK/ckpt.bin") aliases= labels="
check "after the mTLS run: trainer's push is there" test "$(state_of acme/runs/t1/ckpt)" = "$T1_CKPT"
check "after the mTLS run: nothing else changed (versions, aliases, principals, tokens, policies)" \
  test "$(vault_state | grep -vF '"name": "acme/runs/t1/ckpt"')" = \
       "$(python3 "$WORK/mvstate.py" state "$WORK/state")"
# Every refusal of the mTLS run: the trainer's denied pull and the posing
# certificate, one record each; the failed handshakes and the usage errors
# reached no call and left none.
mv --token-file "$ROOT_TOKEN_FILE" admin audit tail -n 200 -o json
check "after the mTLS run: the audit holds one record per refused call, no more" jsonl "
mark = int(open('$WORK/mark').read())
got = [(r['decision'], r['principal'], r['method'].rsplit('/', 1)[-1], r['resource'],
        r['reason'], r['tls_identity'])
       for r in L if r['sequence'] > mark and r['decision'] != 'allowed']
want = [('denied', 'trainer', 'Download', 'acme/a-model',
         'permission denied: read on acme/a-model', 'uri:spiffe://acme/trainer'),
        ('unauthenticated', '', 'WhoAmI', '', '$UNAUTH', 'cn:spiffe://acme/trainer')]
assert got == want, got"
check "after every refusal acme/b-secret is as pushed" test "$(state_of acme/b-secret)" = "$B_SECRET"
rm -f "$WORK/root-b.bin"
mv --token-file "$ROOT_TOKEN_FILE" pull acme/b-secret "$WORK/root-b.bin"
check "after every refusal acme/b-secret pulls byte-identical" cmp -s "$WORK/secret.bin" "$WORK/root-b.bin"
stop_server
finish
