#!/usr/bin/env bash
# End-to-end test of the audit log through the real binaries (issue [audit],
# TESTING.md "End-to-end"): modelvaultd and mvault as separate processes.
#
#   usage: audit_e2e_test.sh BUILD_DIR
#
# Root pushes and pulls a file; `mvault admin audit tail` shows both (table,
# JSON lines, filters, -f until SIGTERM); `export` and `pubkey` feed the
# offline `verify FILE --pubkey`, which needs no server and fails (exit 5)
# for an edited byte, a deleted line and a cut-off final checkpoint;
# `archive` moves the records before now into a verified file that chains
# into the export of what remains (admin:audit alone may not); a
# principal without admin:audit gets exit 4; no token ever appears in the
# export or the data file. Needs BUILD_DIR/server/modelvaultd,
# BUILD_DIR/client/mvault (or $MODELVAULTD and $MVAULT) and python3.
# Each check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed".
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_audit_e2e.XXXXXX")
SERVER_PID=""
TAIL_PID=""
cleanup() {
  for pid in "$TAIL_PID" "$SERVER_PID"; do
    [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "$0")/checks.sh"

# --- server -----------------------------------------------------------------
cd "$WORK"
init_vault
launch_server
[[ -n $PORT ]] || { not_ok "server starts: $(head -c 500 "$WORK/serve.err")"; finish; }
ok "server listening on port $PORT"
export MODELVAULT_ADDR="127.0.0.1:$PORT"
unset MODELVAULT_TOKEN MODELVAULT_CACERT MODELVAULT_CLIENT_CERT MODELVAULT_CLIENT_KEY
export XDG_CONFIG_HOME="$WORK/xdg"  # never the developer's own token
R=(--token-file "$ROOT_TOKEN_FILE")

# --- traffic ----------------------------------------------------------------
head -c 300000 /dev/urandom >"$WORK/model.bin"
mv "${R[@]}" push "$WORK/model.bin" acme/audited
check_rc "root pushes acme/audited" 0
mv "${R[@]}" pull acme/audited "$WORK/pulled.bin"
check_rc "root pulls acme/audited" 0

cat >"$WORK/reader.json" <<'JSON'
{"rules": [{"effect": "allow", "artifacts": ["acme/**"], "actions": ["read", "list"]}]}
JSON
mv "${R[@]}" admin policy put reader "$WORK/reader.json"
check_rc "policy put reader" 0
mv "${R[@]}" admin principal create reader --policy reader
check_rc "principal create reader" 0
set +e
"$MVAULT" "${R[@]}" admin token create --principal reader >"$WORK/reader.token" 2>"$WORK/err"
RC=$?
set -e
check_rc "token create for reader" 0
RD=(--token-file "$WORK/reader.token")
mv "${RD[@]}" pull acme/audited "$WORK/reader.bin"
check_rc "reader pulls acme/audited" 0

# --- tail -------------------------------------------------------------------
mv "${R[@]}" admin audit tail -o json
check_rc "tail -o json" 0
check "tail -o json shows the push and the pull" jsonl "
ups = [r for r in L if r['method'].endswith('/Upload') and r['resource'] == 'acme/audited@1']
downs = [r for r in L if r['method'].endswith('/Download') and r['resource'].startswith('acme/audited@1')]
assert ups and ups[0]['decision'] == 'allowed' and ups[0]['principal'] == 'root', L
assert downs and all(r['action'] == 'read' for r in downs), L
assert any(r['principal'] == 'reader' for r in downs), downs
assert any(r['bytes'] == 300000 for r in downs), downs"
check "tail -o json lines carry the export's field names" jsonl "
want = {'type','v','sequence','time_unix_ms','principal','token_accessor','peer',
        'tls_identity','method','resource','action','decision','status_code',
        'bytes','request_id','download_id','reason'}
# Downloads (layout 2) add their delivery, and a whole download's outcome the
# SHA-256 of the bytes sent (leak tracing).
extra = {'delivery', 'delivered_sha256'}
assert all(set(r) - extra == want for r in L), [set(r) ^ want for r in L]
assert all(('delivery' in r) == r['method'].endswith('/Download') for r in L if r['decision'] == 'allowed'), L
assert all(r['v'] == (2 if set(r) & extra else 1) for r in L), L
seqs = [r['sequence'] for r in L]
assert seqs == sorted(seqs), seqs"

mv "${R[@]}" admin audit tail -n 2 -o json
check "tail -n 2 prints two records" jsonl "assert len(L) == 2, L"

mv "${R[@]}" admin audit tail --principal reader --artifact 'acme/*' --action read --decision allowed --since 1h -o json
check_rc "tail with every filter" 0
check "filtered tail holds only reader's reads of acme/*" jsonl "
assert L and all(r['principal'] == 'reader' and r['action'] == 'read' and r['decision'] == 'allowed' for r in L), L"

mv "${R[@]}" admin audit tail --until 2001-01-01T00:00:00Z -o json
check "tail --until in the past is empty" test ! -s "$WORK/out"

mv "${R[@]}" admin audit tail
check_rc "tail as a table" 0
check "table header" grep -qE '^TIME +SEQ +PRINCIPAL +DECISION +CODE +METHOD +RESOURCE +BYTES +REASON$' "$WORK/out"
check "table row for the upload" grep -qE ' root +allowed +OK +Upload +acme/audited@1 ' "$WORK/out"

# tail -f: new records appear, SIGTERM ends it (exit 130 like Ctrl-C).
# -n 1 first prints the newest matching record: once it is out, the server
# follows from there, so the push below cannot land before the follow starts
# (with -n 0 it could, under ASan's slowness, and was never shown).
"$MVAULT" "${R[@]}" admin audit tail -f -n 1 -o json --artifact 'acme/**' \
  >"$WORK/follow.out" 2>"$WORK/follow.err" &
TAIL_PID=$!
for _ in $(seq 1 200); do
  [ -s "$WORK/follow.out" ] && break
  sleep 0.1
done
check "tail -f -n 1 prints the newest record first" test -s "$WORK/follow.out"
printf 'v2\n' >"$WORK/v2.bin"
mv "${R[@]}" push "$WORK/v2.bin" acme/audited
check_rc "push while following" 0
for _ in $(seq 1 200); do
  grep -q '"acme/audited@2"' "$WORK/follow.out" && break
  sleep 0.1
done
check "tail -f prints the record written while it follows" grep -q '"acme/audited@2"' "$WORK/follow.out"
kill -TERM "$TAIL_PID"
set +e
wait "$TAIL_PID"
RC=$?
set -e
TAIL_PID=""
check_rc "tail -f ends on SIGTERM with exit 130" 130

# --- export, pubkey, verify -------------------------------------------------
set +e
"$MVAULT" "${R[@]}" admin audit export >"$WORK/a.jsonl" 2>"$WORK/err"
RC=$?
set -e
check_rc "export > a.jsonl" 0
check "the export ends with its signed end line" \
  bash -c "tail -n 1 '$WORK/a.jsonl' | grep -q '\"type\":\"export_end\"'"
check "... after a checkpoint line" \
  bash -c "tail -n 2 '$WORK/a.jsonl' | head -n 1 | grep -q '\"type\":\"checkpoint\"'"
mv "${R[@]}" admin audit export --output "$WORK/b.jsonl"
check_rc "export --output b.jsonl" 0
check "export --output leaves no .partial" test ! -e "$WORK/b.jsonl.partial"
check "export --output file is mode 600" test "$(stat -c %a "$WORK/b.jsonl")" = 600
set +e
"$MVAULT" "${R[@]}" admin audit pubkey >"$WORK/vault.pub" 2>"$WORK/err"
RC=$?
set -e
check_rc "pubkey > vault.pub" 0
check "vault.pub is one key line" grep -qxE 'modelvault-audit-ed25519 [A-Za-z0-9+/]+=*' "$WORK/vault.pub"

mv "${R[@]}" admin audit verify
check_rc "server-side verify" 0
check "server-side verify prints ok: N records, M checkpoints" \
  grep -qxE 'ok: [0-9]+ records, [0-9]+ checkpoints' "$WORK/out"

# Offline: nothing listens at this address and there is no token at all.
offline() {
  set +e
  MODELVAULT_ADDR=127.0.0.1:1 MODELVAULT_TOKEN= XDG_CONFIG_HOME="$WORK/empty" \
    "$MVAULT" admin audit verify "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  set -e
}
for f in a b; do
  offline "$WORK/$f.jsonl" --pubkey "$WORK/vault.pub"
  check_rc "offline verify $f.jsonl (no server, no token)" 0
  check "offline verify $f.jsonl prints ok: and the span" grep -qxE 'ok: [0-9]+ records, [1-9][0-9]* checkpoints; sequences [0-9]+-[0-9]+, [0-9T:.-]+Z to [0-9T:.-]+Z; exported [0-9T:.-]+Z' "$WORK/out"
done

# An edited byte in a record line (the pushed artifact's name).
python3 - "$WORK/a.jsonl" "$WORK/edited.jsonl" <<'PY'
import sys
lines = open(sys.argv[1]).read().split('\n')
i = next(i for i, l in enumerate(lines) if '"acme/audited@1"' in l)
lines[i] = lines[i].replace('"acme/audited@1"', '"acme/audites@1"', 1)
open(sys.argv[2], 'w').write('\n'.join(lines))
open(sys.argv[2] + '.line', 'w').write(str(i + 1))
PY
offline "$WORK/edited.jsonl" --pubkey "$WORK/vault.pub"
check_rc "an edited byte fails offline verification (exit 5)" 5
check "... naming its line" err_has "line $(cat "$WORK/edited.jsonl.line") "

sed '2d' "$WORK/a.jsonl" >"$WORK/deleted.jsonl"
offline "$WORK/deleted.jsonl" --pubkey "$WORK/vault.pub"
check_rc "a deleted line fails offline verification (exit 5)" 5
check "... naming line 2" err_has "line 2 "

sed '$d' "$WORK/a.jsonl" >"$WORK/cut.jsonl"
offline "$WORK/cut.jsonl" --pubkey "$WORK/vault.pub"
check_rc "an export without its signed end fails (exit 5)" 5
check "... as cut" err_has "the export has no signed end"
sed '$d' "$WORK/cut.jsonl" >"$WORK/cut2.jsonl"
offline "$WORK/cut2.jsonl" --pubkey "$WORK/vault.pub"
check_rc "an export cut back to its last checkpoint fails too (exit 5)" 5

printf 'modelvault-audit-ed25519 AAAA\n' >"$WORK/bad.pub"
offline "$WORK/a.jsonl" --pubkey "$WORK/bad.pub"
check_rc "a malformed public key file is a usage error" 2

# --- archive ------------------------------------------------------------------
# The exports above signed the head, so records up to that checkpoint can be
# archived; admin:audit alone may not, root (every action) may.
cat >"$WORK/auditor.json" <<'JSON'
{"rules": [{"effect": "allow", "actions": ["admin:audit"]}]}
JSON
mv "${R[@]}" admin policy put auditor "$WORK/auditor.json"
mv "${R[@]}" admin principal create auditor --policy auditor
set +e
"$MVAULT" "${R[@]}" admin token create --principal auditor >"$WORK/auditor.token" 2>"$WORK/err"
set -e
SOON=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)
mv --token-file "$WORK/auditor.token" admin audit archive --before "$SOON" --output "$WORK/denied.jsonl"
check_rc "admin:audit alone cannot archive (exit 4)" 4
check "... and keeps no file" test ! -e "$WORK/denied.jsonl"
# The CLI verifies the export before the server removes anything: against a
# key that is not the vault's, the archive fails, keeps no file, and every
# record is still in the vault.
python3 -c "import base64, os
print('modelvault-audit-ed25519', base64.b64encode(os.urandom(32)).decode())" >"$WORK/other.pub"
mv "${R[@]}" admin audit archive --before "$SOON" --output "$WORK/unverified.jsonl" --pubkey "$WORK/other.pub"
check_rc "an archive whose export does not verify is refused (exit 5)" 5
check "... and keeps no file" test ! -e "$WORK/unverified.jsonl"
mv "${R[@]}" admin audit verify
check "... and the server removed nothing" bash -c "! grep -q archived '$WORK/out'"
mv "${R[@]}" admin audit export --output "$WORK/kept.jsonl"
check "... the log still starts at record 1" \
  bash -c "head -n 1 '$WORK/kept.jsonl' | grep -q '\"sequence\":1,'"
mv "${R[@]}" admin audit archive --before "$SOON" --output "$WORK/archive.jsonl"
check_rc "root archives the records before now" 0
check "archive names the records it moved" \
  grep -qE '^archived audit records 1-[0-9]+ to .*archive.jsonl \(sha256 [0-9a-f]{64}\)$' "$WORK/out"
check "the archive file is mode 600" test "$(stat -c %a "$WORK/archive.jsonl")" = 600
THROUGH=$(sed -nE 's/^archived audit records 1-([0-9]+) .*/\1/p' "$WORK/out")
mv "${R[@]}" admin audit archive --before "$SOON" --output "$WORK/archive.jsonl"
check_rc "an archive never overwrites a file (exit 2)" 2
mv "${R[@]}" admin audit verify
check_rc "server-side verify after the archive" 0
check "... says what was archived" out_has "records 1-$THROUGH archived"
mv "${R[@]}" admin audit export --output "$WORK/rest.jsonl"
check_rc "export what remains" 0
check "... which starts after the archive" \
  bash -c "head -n 1 '$WORK/rest.jsonl' | grep -q '\"sequence\":$((THROUGH + 1)),'"
offline "$WORK/archive.jsonl" --pubkey "$WORK/vault.pub"
check_rc "the archive verifies offline" 0
offline "$WORK/archive.jsonl" "$WORK/rest.jsonl" --pubkey "$WORK/vault.pub"
check_rc "the archive chains into the rest (offline)" 0
offline "$WORK/rest.jsonl" "$WORK/archive.jsonl" --pubkey "$WORK/vault.pub"
check_rc "out of order they do not chain (exit 5)" 5
check "... saying so" err_has "does not chain into"
mv "${R[@]}" admin audit tail --action admin:audit:archive -o json
check "the archive is audited with the export's sha256" jsonl "
assert any(r['decision'] == 'allowed' and 'sha256' in r['reason'] for r in L), L"
check "the auditor's refused archive is on record" python3 -c "
import json
L = [json.loads(l) for f in ('archive', 'rest')
     for l in open('$WORK/' + f + '.jsonl')]
assert any(r.get('principal') == 'auditor' and r.get('decision') == 'denied'
           and r['method'].endswith('/Archive') for r in L)"

# --- admin:audit is needed --------------------------------------------------
for cmd in "tail" "export" "pubkey" "verify"; do
  mv "${RD[@]}" admin audit $cmd
  check_rc "reader cannot run 'admin audit $cmd' (exit 4)" 4
done
mv "${RD[@]}" admin audit tail --principal reader -o json
check_rc "... even for its own records (exit 4)" 4
mv "${R[@]}" admin audit tail --principal reader --decision denied -o json
check "the denials are audited" jsonl "
methods = {r['method'].rsplit('/', 1)[1] for r in L}
assert {'QueryRecords', 'Export', 'GetPublicKey', 'Verify'} <= methods, methods"

# --- redaction --------------------------------------------------------------
stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}
stop_server
check "the data file exists" test -s "$DATA/data.mdb"
for t in "$ROOT_TOKEN_FILE" "$WORK/reader.token"; do
  tok=$(tr -d '\n' <"$t")
  for f in "$WORK/a.jsonl" "$DATA/data.mdb"; do
    check "no token ($(basename "$t")) in $(basename "$f")" \
      bash -c "! grep -qaF -- '$tok' '$f'"
  done
done
finish
