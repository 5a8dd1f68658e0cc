#!/usr/bin/env bash
# End-to-end checks of README promises that had no test (tests/README_CLAIMS.md,
# issue #22): the built binaries and scripts/serve.sh as separate processes.
#
#   usage: claims_e2e_test.sh BUILD_DIR
#
#   - scripts/serve.sh (MODELVAULT_SKIP_BUILD=1: no apt-get, no build): VAULT_DIR
#     layout and modes, LISTEN, a second start reuses the vault;
#   - `modelvaultd serve --help` shows the defaults of README's synopsis;
#   - `modelvaultd migrate` of the previous release's vault
#     (tests/security/fixtures/format1_vault) prints `migrated: data format 4`;
#   - `-o json` of login/logout, principal ls/rm, token revoke, policy rm;
#   - a token's "policies" is empty when it carries all its principal's;
#   - an escalation refusal is audited;
#   - `pull` fsyncs the partial file, renames it, then fsyncs the directory
#     (strace);
#   - a push from stdin refused as `server busy` is not retried (a file push is).
# Needs BUILD_DIR/server/modelvaultd, BUILD_DIR/client/mvault (or $MODELVAULTD
# and $MVAULT), python3 and strace. Each check prints "ok - ..." or
# "not ok - ..."; the last line is "N passed, M failed".
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"
command -v strace >/dev/null || { echo "missing strace (scripts/install-deps.sh)" >&2; exit 2; }
SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_claims_e2e.XXXXXX")
WORK=$(cd "$WORK" && pwd -P)  # strace -y prints resolved paths
SERVER_PID=""
SERVE_SH_PID=""  # scripts/serve.sh, leader of its own process group
HOLD_WRITER_PID=""
HOLD_PUSH_PID=""
stop_pid() {  # stop_pid PID: SIGTERM, up to 10 s, then SIGKILL
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  if [[ -n $SERVE_SH_PID ]] && kill -0 "$SERVE_SH_PID" 2>/dev/null; then
    kill -KILL -- -"$SERVE_SH_PID" 2>/dev/null || true
  fi
  stop_pid "$HOLD_WRITER_PID"
  stop_pid "$HOLD_PUSH_PID"
  stop_pid "$SERVER_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "$0")/checks.sh"
mode_of() { stat -c %a "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
# mvs STDIN_FILE ARGS...: mv with stdin from a file.
mvs() {
  local in=$1; shift
  set +e
  "$MVAULT" "$@" <"$in" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_listening OUTFILE ADDR PID: until OUTFILE has "listening on ADDR"
# (10 s), or PID exits.
wait_listening() {
  for _ in $(seq 1 100); do
    grep -qx "listening on $2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  grep -qx "listening on $2" "$1" 2>/dev/null
}
# audit_count GLOB METHOD: Upload/... records of artifacts matching GLOB.
audit_count() {
  "$MVAULT" --token-file "$ROOT_TOKEN_FILE" admin audit tail -n 1000 \
    --artifact "$1" -o json >"$WORK/audit.jsonl" 2>"$WORK/err"
  python3 -c "
import json
L = [json.loads(l) for l in open('$WORK/audit.jsonl') if l.strip()]
print(sum(1 for r in L if r['method'].endswith('/$2')))"
}

export XDG_CONFIG_HOME="$WORK/xdg"  # never the developer's own token
unset MODELVAULT_TOKEN MODELVAULT_ADDR MODELVAULT_CACERT MODELVAULT_CLIENT_CERT MODELVAULT_CLIENT_KEY
cd "$WORK"

# --- scripts/serve.sh: layout, modes, LISTEN, reuse ---------------------------
# MODELVAULT_SKIP_BUILD=1 makes it skip install-deps.sh and build.sh and serve
# the binaries of BUILD_DIR; everything else is what README describes.
VAULT="$WORK/vault"  # absent: serve.sh creates it
# start_serve_sh: sets SERVE_SH_PID (its own process group: set -m) and SS_PORT.
start_serve_sh() {
  SS_PORT=$(free_port)
  : >"$WORK/ss.out"
  set -m
  MODELVAULT_SKIP_BUILD=1 BUILD_DIR="$BUILD_DIR" VAULT_DIR="$VAULT" \
    LISTEN="127.0.0.1:$SS_PORT" bash "$SRC_DIR/scripts/serve.sh" \
    >"$WORK/ss.out" 2>"$WORK/ss.err" </dev/null &
  SERVE_SH_PID=$!
  set +m
  wait_listening "$WORK/ss.out" "127.0.0.1:$SS_PORT" "$SERVE_SH_PID"
}
# stop_serve_sh: SIGTERM to serve.sh's process group; SS_RC = its exit code.
stop_serve_sh() {
  kill -TERM -- -"$SERVE_SH_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVE_SH_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- -"$SERVE_SH_PID" 2>/dev/null || true
  set +e
  wait "$SERVE_SH_PID" 2>/dev/null
  SS_RC=$?
  set -e
  SERVE_SH_PID=""
}

if start_serve_sh; then
  ok "serve.sh serves on LISTEN=127.0.0.1:$SS_PORT"
else
  not_ok "serve.sh serves on LISTEN=127.0.0.1:$SS_PORT ($(head -c 500 "$WORK/ss.err"))"
fi
check "with MODELVAULT_SKIP_BUILD=1 serve.sh neither installs nor builds (stdout is only 'listening on')" \
  bash -c "[[ \$(cat '$WORK/ss.out') == 'listening on 127.0.0.1:$SS_PORT' ]] && ! grep -q 'installing:' '$WORK/ss.err'"
check "serve.sh creates VAULT_DIR/data/ (the LMDB environment)" \
  test -d "$VAULT/data" -a -f "$VAULT/data/data.mdb"
check "serve.sh creates VAULT_DIR/master.key: 32 bytes, mode 0600" \
  test "$(stat -c %s "$VAULT/master.key" 2>/dev/null)" = 32 -a "$(mode_of "$VAULT/master.key")" = 600
check "serve.sh creates VAULT_DIR/root.token with mode 0600" \
  test "$(mode_of "$VAULT/root.token")" = 600
check "root.token holds one token" grep -qE '^mvt_[A-Za-z0-9_-]+$' "$VAULT/root.token"
cp "$VAULT/root.token" "$WORK/ss-root.token.first"
cp "$VAULT/master.key" "$WORK/ss-master.key.first"
head -c 300000 /dev/urandom >"$WORK/ss.bin"
mv --addr "127.0.0.1:$SS_PORT" --token-file "$VAULT/root.token" push "$WORK/ss.bin" acme/served
check_rc "mvault with the root token works against serve.sh's server" 0
stop_serve_sh
check "serve.sh's server stops on SIGTERM to its process group (exit $SS_RC)" test "$SS_RC" -eq 0

if start_serve_sh; then
  ok "a second serve.sh start serves again (port $SS_PORT)"
else
  not_ok "a second serve.sh start serves again ($(head -c 500 "$WORK/ss.err"))"
fi
check "the second start keeps the root token" cmp -s "$WORK/ss-root.token.first" "$VAULT/root.token"
check "the second start keeps the master key" cmp -s "$WORK/ss-master.key.first" "$VAULT/master.key"
mv --addr "127.0.0.1:$SS_PORT" --token-file "$VAULT/root.token" pull acme/served@1 "$WORK/ss-back.bin"
check_rc "the first run's root token works after the second start" 0
check "the second start keeps the data (pull is byte-identical)" cmp -s "$WORK/ss.bin" "$WORK/ss-back.bin"
stop_serve_sh
check "the second server stops on SIGTERM too (exit $SS_RC)" test "$SS_RC" -eq 0

# A fresh vault is already at the current format.
set +e
"$MODELVAULTD" migrate --data-dir "$VAULT/data" --master-key-file "$VAULT/master.key" \
  >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "migrate of a vault made by this release" 0
check "it prints 'already at: data format 4'" grep -qx "already at: data format 4" "$WORK/out"

# --- modelvaultd serve --help: the synopsis' defaults -------------------------
set +e
"$MODELVAULTD" serve --help >"$WORK/serve-help.txt" 2>&1
RC=$?
set -e
check_rc "modelvaultd serve --help" 0
# Every "[--flag VALUE]" of README's `modelvaultd serve` synopsis whose VALUE is
# a value (not a placeholder such as DIR, nor a choice a|b|c), plus the
# defaults README states in prose; one check per flag.
python3 - "$SRC_DIR/README.md" "$WORK/serve-help.txt" >"$WORK/defaults.txt" <<'EOF' || true
import re, sys
readme = open(sys.argv[1]).read()
help_text = open(sys.argv[2]).read()
syn = re.search(r"^modelvaultd serve .*?(?=^modelvaultd verify)", readme, re.M | re.S)
if not syn:
    print("not ok - README has a `modelvaultd serve` synopsis"); sys.exit()
doc = {}
for flag, value in re.findall(r"\[(--[a-z-]+) ([^\]\[\s]+)\]", syn.group(0)):
    if not re.fullmatch(r"[A-Z]+", value) and "|" not in value:
        doc[flag] = value
fp = re.search(r"`--fingerprint` \(default `([a-z]+)`\)", readme)
if fp:
    doc["--fingerprint"] = fp.group(1)
want = {"--listen", "--map-size-mib", "--chunk-size-kib", "--pending-ttl-minutes",
        "--stream-idle-timeout-seconds", "--handshake-timeout-seconds",
        "--fingerprint", "--max-trace-bytes", "--max-streams-per-principal",
        "--header-memory-mib", "--auth-failure-burst", "--auth-failures-per-minute"}
missing = sorted(want - set(doc))
print(("ok" if not missing else "not ok") +
      " - README's serve synopsis states the default of every valued flag"
      + (" (missing: %s)" % ", ".join(missing) if missing else ""))
for flag, value in sorted(doc.items()):
    # CLI11: "  --flag TYPE[ in [MIN - MAX]]=DEFAULT" (the description may follow
    # on the same line after two spaces, or on the next)
    line = re.search(r"^ +" + re.escape(flag) + r" [^\n]*", help_text, re.M)
    shown = re.match(r"\S+ \S+(?: in \[[^\]]*\])?=(\S+)", line.group(0).strip()) if line else None
    good = shown is not None and shown.group(1) == value
    print("%s - serve --help: %s defaults to %s as README says%s" % (
        "ok" if good else "not ok", flag, value,
        "" if good else " (help: %r)" % (line.group(0).strip() if line else None)))
EOF
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }" ;;
    *) not_ok "${line#not ok - }" ;;
  esac
done <"$WORK/defaults.txt"
[[ -s $WORK/defaults.txt ]] || not_ok "the defaults check ran"
check "serve --help: --audit-witness defaults to <data-dir>.audit-witness as README says" \
  grep -qF "<data-dir>.audit-witness" "$WORK/serve-help.txt"
check "serve --help: --trace-spool-dir defaults to \$TMPDIR, else /tmp as README says" \
  grep -qF '$TMPDIR, else /tmp' "$WORK/serve-help.txt"

# --- modelvaultd migrate of the previous release's vault ----------------------
# tests/security/fixtures/format1_vault (FIXTURE.md) is a format-1 vault that
# comes without its audit witness; its master key is public on purpose
# (FIXTURE_KEY_HEX in tests/security/redteam_test.py). Without a witness,
# migrate refuses (redteam_test.py checks that). A witness line is a signed
# checkpoint export line: one copy is served with --reset-audit-witness, which
# writes a new witness from the log's checkpoints; its checkpoint at sequence 8
# (signed by the old release) is then the witness of a second, untouched copy.
FIXTURE="$SRC_DIR/tests/security/fixtures/format1_vault"
FIXTURE_KEY_HEX=df38a4f1a712796e2e09af11f1505e835d5d3a82862188b2c6f74c9bc9819636
copy_fixture() {  # copy_fixture DIR
  mkdir -p "$1/data"
  chmod 700 "$1/data"
  cp "$FIXTURE/data.mdb" "$1/data/data.mdb"
  python3 -c "
import os
fd = os.open('$1/master.key', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, bytes.fromhex('$FIXTURE_KEY_HEX'))
os.close(fd)"
}
copy_fixture "$WORK/fixa"
copy_fixture "$WORK/fixb"
DATA="$WORK/fixa/data" KEY="$WORK/fixa/master.key" launch_server --reset-audit-witness
if [[ -n $PORT ]]; then ok "a copy of the format-1 fixture serves with --reset-audit-witness"
else not_ok "a copy of the format-1 fixture serves with --reset-audit-witness ($(head -c 500 "$WORK/serve.err"))"; fi
stop_pid "$SERVER_PID"
SERVER_PID=""
python3 -c "
import json
for l in open('$WORK/fixa/data.audit-witness'):
    if json.loads(l)['sequence'] == 8:
        print(l, end='')" >"$WORK/fixb/witness" 2>/dev/null || true
check "the reset witness holds the old release's checkpoint at sequence 8" \
  grep -q '"type":"checkpoint"' "$WORK/fixb/witness"
set +e
"$MODELVAULTD" migrate --data-dir "$WORK/fixb/data" --master-key-file "$WORK/fixb/master.key" \
  --audit-witness "$WORK/fixb/witness" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "migrate of the format-1 vault with its witness" 0
check "migrate prints 'migrated: data format 4'" grep -qx "migrated: data format 4" "$WORK/out"
set +e
"$MODELVAULTD" migrate --data-dir "$WORK/fixb/data" --master-key-file "$WORK/fixb/master.key" \
  --audit-witness "$WORK/fixb/witness" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "a second migrate" 0
check "the second migrate prints 'already at: data format 4'" \
  grep -qx "already at: data format 4" "$WORK/out"
set +e
"$MODELVAULTD" verify --data-dir "$WORK/fixb/data" --master-key-file "$WORK/fixb/master.key" \
  --audit-witness "$WORK/fixb/witness" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "the migrated vault verifies (exit 0)" 0
check "verify counts the fixture's 2 versions" out_has "ok: 2 versions"

# --- the main server -----------------------------------------------------------
# --header-memory-mib 16: room for two 6 MiB header reservations, not three
# (the `server busy` checks below).
init_vault
launch_server --header-memory-mib 16
if [[ -z $PORT ]]; then
  not_ok "server starts: $(head -c 500 "$WORK/serve.err")"; finish
fi
ok "server listening on port $PORT"
export MODELVAULT_ADDR="127.0.0.1:$PORT"
R=(--token-file "$ROOT_TOKEN_FILE")

# --- -o json of login / logout -------------------------------------------------
SAVED="$XDG_CONFIG_HOME/modelvault/token"
mvs "$ROOT_TOKEN_FILE" login --token-stdin -o json
check_rc "login -o json" 0
check 'login -o json is {"principal", "token_file"}' json "
assert d['principal'] == 'root', d
assert d['token_file'] == '$SAVED', d"
mv logout -o json
check_rc "logout -o json" 0
check 'logout -o json is {"token_file", "removed": true}' json "
assert d['token_file'] == '$SAVED', d
assert d['removed'] is True, d"
mv logout -o json
check 'logout -o json when logged out says "removed": false' json "
assert d['token_file'] == '$SAVED', d
assert d['removed'] is False, d"
mvs "$ROOT_TOKEN_FILE" --token-file "$WORK/tf/token" login --token-stdin -o json
check_rc "login --token-file -o json" 0
check 'login -o json names the --token-file it wrote' json "
assert d['principal'] == 'root' and d['token_file'] == '$WORK/tf/token', d"
mv --token-file "$WORK/tf/token" logout -o json
check 'logout --token-file -o json removes that file' json "
assert d == dict(d, token_file='$WORK/tf/token', removed=True), d"

# --- -o json of principal ls / rm, token revoke, policy rm -----------------------
printf '%s' '{"rules": [{"effect": "allow", "artifacts": ["acme/pa/**"], "actions": ["read"]}]}' >"$WORK/pa.json"
printf '%s' '{"rules": [{"effect": "allow", "artifacts": ["acme/pb/**"], "actions": ["list"]}]}' >"$WORK/pb.json"
mv "${R[@]}" admin policy put pa "$WORK/pa.json"
check_rc "policy put pa" 0
mv "${R[@]}" admin policy put pb "$WORK/pb.json"
check_rc "policy put pb" 0
mv "${R[@]}" admin principal create carrier --kind service --policy pa --policy pb
check_rc "principal create carrier (pa, pb)" 0
mv "${R[@]}" admin principal create temp --policy pa
check_rc "principal create temp" 0

mv "${R[@]}" admin principal ls -o json
check_rc "principal ls -o json" 0
check 'principal ls -o json is {"principals": [principal...]}' json "
ps = d['principals']
assert isinstance(ps, list), d
by = {p['name']: p for p in ps}
assert {'root', 'carrier', 'temp'} <= set(by), d
for p in ps:
    assert p['kind'] in ('user', 'service'), p
    assert isinstance(p['policies'], list), p
    assert p['cert_identity'] is None or isinstance(p['cert_identity'], str), p
    assert isinstance(p['created_at'], str) and p['created_at'].endswith('Z'), p
assert by['carrier']['kind'] == 'service', by['carrier']
assert sorted(by['carrier']['policies']) == ['pa', 'pb'], by['carrier']
assert by['carrier']['cert_identity'] is None, by['carrier']
assert by['root']['policies'] == ['root'], by['root']"

for _ in 1 2; do
  mv "${R[@]}" admin token create --principal temp
  check_rc "token create for temp" 0
done
mv "${R[@]}" admin principal rm temp -o json
check_rc "principal rm -o json" 0
check 'principal rm -o json is {"name", "revoked_tokens": 2}' json "
assert d['name'] == 'temp', d
assert type(d['revoked_tokens']) is int and d['revoked_tokens'] == 2, d"

mv "${R[@]}" admin token create --principal carrier -o json
check_rc "token create for carrier" 0
REVOKE_ACC=$(python3 -c "import json; print(json.load(open('$WORK/out'))['accessor'])")
mv "${R[@]}" admin token revoke "$REVOKE_ACC" -o json
check_rc "token revoke -o json" 0
check 'token revoke -o json is {"accessor", "revoked": true}' json "
assert d['accessor'] == '$REVOKE_ACC', d
assert d['revoked'] is True, d"

printf '%s' '{"rules": [{"effect": "deny", "artifacts": ["acme/**"], "actions": ["read"]}]}' >"$WORK/gone.json"
mv "${R[@]}" admin policy put gone "$WORK/gone.json"
check_rc "policy put gone" 0
mv "${R[@]}" admin policy rm gone -o json
check_rc "policy rm -o json" 0
check 'policy rm -o json is {"name", "deleted": true}' json "
assert d['name'] == 'gone', d
assert d['deleted'] is True, d"
mv "${R[@]}" admin policy get gone
check_rc "the removed policy is gone (exit 3)" 3

# --- a token's "policies" is empty when it carries all its principal's ---------
mv "${R[@]}" admin token create --principal carrier -o json
check_rc "token create for carrier without --policy" 0
check "a token carrying all its principal's policies shows policies: [] (create)" json "
assert d['policies'] == [], d"
FULL_ACC=$(python3 -c "import json; print(json.load(open('$WORK/out'))['accessor'])")
python3 -c "import json; print(json.load(open('$WORK/out'))['token'])" >"$WORK/full.token"
mv "${R[@]}" admin token lookup "$FULL_ACC" -o json
check "a token carrying all its principal's policies shows policies: [] (lookup)" json "
assert d['accessor'] == '$FULL_ACC' and d['policies'] == [], d"
mv "${R[@]}" admin token create --principal carrier --policy pa -o json
check_rc "token create for carrier --policy pa" 0
check 'a token with a subset lists it: "policies": ["pa"]' json "assert d['policies'] == ['pa'], d"
SUB_ACC=$(python3 -c "import json; print(json.load(open('$WORK/out'))['accessor'])")
mv "${R[@]}" admin token ls --principal carrier -o json
check 'token ls -o json: [] for the full token, ["pa"] for the subset' json "
by = {t['accessor']: t for t in d['tokens']}
assert by['$FULL_ACC']['policies'] == [], d
assert by['$SUB_ACC']['policies'] == ['pa'], d"
mv --token-file "$WORK/full.token" whoami -o json
check "the token with policies: [] carries both of its principal's policies (whoami)" json "
assert d['principal'] == 'carrier' and sorted(d['policies']) == ['pa', 'pb'], d"

# --- an escalation refusal is audited -----------------------------------------
printf '%s' '{"rules": [{"effect": "allow", "actions": ["admin:principals"]},
  {"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"]}]}' >"$WORK/deleg.json"
printf '%s' '{"rules": [{"effect": "allow", "artifacts": ["**"], "actions": ["read"]}]}' >"$WORK/wide.json"
mv "${R[@]}" admin policy put deleg-rights "$WORK/deleg.json"
check_rc "policy put deleg-rights (admin:principals, read on acme/**)" 0
mv "${R[@]}" admin policy put wide-read "$WORK/wide.json"
check_rc "policy put wide-read (read on **)" 0
mv "${R[@]}" admin principal create delegator --policy deleg-rights
check_rc "principal create delegator" 0
set +e
"$MVAULT" "${R[@]}" admin token create --principal delegator >"$WORK/deleg.token" 2>"$WORK/err"
RC=$?
set -e
check_rc "token create for delegator" 0
mv --token-file "$WORK/deleg.token" admin principal create victim --policy wide-read
check_rc "delegator cannot grant read on ** (exit 4)" 4
check "the refusal names the rule: 'cannot grant policy wide-read rule 0 (read on **): your own rights do not cover it'" \
  err_has "cannot grant policy wide-read rule 0 (read on **): your own rights do not cover it"
mv "${R[@]}" admin principal show victim
check_rc "the refused principal was not created (exit 3)" 3
mv "${R[@]}" admin audit tail -n 50 --principal delegator --decision denied -o json
check_rc "root tails delegator's denials" 0
check "the escalation refusal is audited: denied CreatePrincipal, PERMISSION_DENIED, the reason" jsonl "
R = [r for r in L if 'cannot grant policy wide-read rule 0' in r['reason']]
assert len(R) == 1, L
r = R[0]
assert r['principal'] == 'delegator' and r['decision'] == 'denied', r
assert r['method'].endswith('/CreatePrincipal') and r['status_code'] == 7, r
assert 'victim' in r['resource'], r"

# --- pull fsyncs the file, renames it, then fsyncs the directory ---------------
head -c $((2 * 1024 * 1024 + 777)) /dev/urandom >"$WORK/fsync.bin"
mv "${R[@]}" push "$WORK/fsync.bin" acme/fsync --format blob
check_rc "push acme/fsync" 0
mkdir "$WORK/pulled"
DEST="$WORK/pulled/fsync.bin"
set +e
# LeakSanitizer cannot run under ptrace: an ASan build of mvault would abort
# at exit (harmless for other builds).
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -y -o "$WORK/strace.log" \
  -e trace=openat,fsync,fdatasync,close,rename,renameat,renameat2 \
  "$MVAULT" "${R[@]}" pull acme/fsync@1 "$DEST" >"$WORK/out" 2>"$WORK/err"
RC=$?
set -e
check_rc "pull under strace" 0
check "the pulled file is byte-identical" cmp -s "$WORK/fsync.bin" "$DEST"
python3 - "$WORK/strace.log" "$DEST" >"$WORK/fsync.txt" <<'EOF' || true
import os, re, sys
log, dest = sys.argv[1], sys.argv[2]
partial, d = dest + ".partial", os.path.dirname(dest)
lines = open(log).read().splitlines()
def first(pred, start=0):
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    return None
# strace -y shows each descriptor with its path: fdatasync(7</dir/f.partial>)
sync_file = first(lambda l: re.search(r"\b(fsync|fdatasync)\(\d+<%s>" % re.escape(partial), l))
ren = first(lambda l: re.search(r"\brename(at2?)?\(.*\"%s\".*\"%s\"" % (
    re.escape(partial), re.escape(dest)), l) and not re.search(r"= -1 ", l))
sync_dir = first(lambda l: re.search(r"\bfsync\(\d+<%s>\)" % re.escape(d), l),
                 (ren or 0) + 1)
checks = [
    (sync_file is not None, "the partial file is fsynced (fsync/fdatasync of DEST.partial's fd)"),
    (ren is not None, "DEST.partial is renamed to DEST"),
    (sync_dir is not None, "DEST's directory is fsynced after the rename"),
    (None not in (sync_file, ren, sync_dir) and sync_file < ren < sync_dir,
     "pull order: fsync of the partial file, rename to DEST, fsync of the directory"),
]
for good, what in checks:
    print(("ok" if good else "not ok") + " - " + what)
if not all(g for g, _ in checks):
    print("# strace log:\n# " + "\n# ".join(lines[-40:]))
EOF
while IFS= read -r line; do
  case $line in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "$line" ;;
  esac
done <"$WORK/fsync.txt"
[[ -s $WORK/fsync.txt ]] || not_ok "the strace check ran"

# --- a push from stdin refused as `server busy` is not retried -----------------
# The server has 16 MiB of header memory and reserves 6 bytes per header byte
# received. The holder pushes, from a pipe that then stalls, the first 2 MiB
# of a safetensors header of 3 MiB: it holds 12 MiB, leaving 4 MiB, so a push
# of a model whose header is 1 MiB (6 MiB) is refused `server busy`, at once.
# safetensors FILE HEADER_LEN [SEND_BYTES]: a header of HEADER_LEN bytes (one
# F32 tensor of 4 values, padded with spaces), then its 16 data bytes; with
# SEND_BYTES, only the first SEND_BYTES bytes.
safetensors() {
  python3 - "$@" <<'EOF'
import struct, sys
path, n = sys.argv[1], int(sys.argv[2])
h = b'{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}'
body = struct.pack("<Q", n) + h + b" " * (n - len(h)) + struct.pack("<4f", 0.1, 0.2, 0.3, 0.4)
if len(sys.argv) > 3:
    body = body[:int(sys.argv[3])]
open(path, "wb").write(body)
EOF
}
safetensors "$WORK/busy.safetensors" $((1024 * 1024))
safetensors "$WORK/hold.part" $((3 * 1024 * 1024)) $((2 * 1024 * 1024 + 65536))
mkfifo "$WORK/hold.fifo"
# start_holder: a stdin push of hold.part from a pipe whose writer then waits
# for a signal: the upload stays open with its header incomplete. Returns once
# the writer's bytes are all in the pipe or read (the client then holds its two
# chunks; hold.written appears).
start_holder() {
  stop_pid "$HOLD_WRITER_PID"; stop_pid "$HOLD_PUSH_PID"
  rm -f "$WORK/hold.written"
  "$MVAULT" "${R[@]}" push - acme/busy-holder <"$WORK/hold.fifo" \
    >"$WORK/hold.out" 2>"$WORK/hold.err" &
  HOLD_PUSH_PID=$!
  python3 -c "
import signal
out = open('$WORK/hold.fifo', 'wb')
out.write(open('$WORK/hold.part', 'rb').read()); out.flush()
open('$WORK/hold.written', 'w').close()
signal.pause()" &
  HOLD_WRITER_PID=$!
  for _ in $(seq 1 100); do
    [[ -e $WORK/hold.written ]] && break
    kill -0 "$HOLD_PUSH_PID" 2>/dev/null || break
    sleep 0.1
  done
}
# Probe (stdin pushes of busy.safetensors) until one is refused as busy. A
# probe that meets the holder between its two chunks takes the room of the
# second and the holder is refused instead: it then starts again.
BUSY=""
PROBES=0
for _ in $(seq 1 50); do
  PROBES=$((PROBES + 1))
  kill -0 "$HOLD_PUSH_PID" 2>/dev/null || start_holder
  mvs "$WORK/busy.safetensors" "${R[@]}" push - acme/busy-probe
  if [[ $RC -ne 0 ]] && err_has "server busy"; then BUSY=1; break; fi
  sleep 0.2
done
check "a push meets a held header budget: 'server busy' (exit 1; probe $PROBES)" test -n "$BUSY"
check "the refusal says 'server busy: ...; retry'" \
  grep -qE '^mvault: error: .*server busy: .*; retry$' "$WORK/err"

mvs "$WORK/busy.safetensors" "${R[@]}" push - acme/busy-stdin
check_rc "a push from stdin refused as server busy fails (exit 1)" 1
check "its error says server busy" err_has "server busy"
N_STDIN=$(audit_count 'acme/busy-stdin' Upload)
check "a push from stdin refused as server busy is sent once, not retried ($N_STDIN Upload record)" \
  test "$N_STDIN" = 1
# The contrast: the same bytes from a file are sent again, 4 times.
mv "${R[@]}" push "$WORK/busy.safetensors" acme/busy-file
check_rc "a push of a file still refused as server busy fails in the end (exit 1)" 1
N_FILE=$(audit_count 'acme/busy-file' Upload)
check "a file push refused as server busy is retried 4 times ($N_FILE Upload records)" \
  test "$N_FILE" = 5
kill -0 "$HOLD_PUSH_PID" 2>/dev/null && ok "the holder's push was open throughout" \
  || not_ok "the holder's push was open throughout ($(head -c 300 "$WORK/hold.err"))"
stop_pid "$HOLD_WRITER_PID"; HOLD_WRITER_PID=""
stop_pid "$HOLD_PUSH_PID"; HOLD_PUSH_PID=""
mvs "$WORK/busy.safetensors" "${R[@]}" push - acme/busy-stdin
check_rc "once the budget is free the same stdin push succeeds" 0

stop_pid "$SERVER_PID"
SERVER_PID=""
finish
