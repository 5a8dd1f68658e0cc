#!/usr/bin/env bash
# End-to-end test of leak tracing (issue #5, LEAK_TRACING.md) through the real
# binaries: root pushes a synthetic float safetensors model, 20 principals
# pull it (each copy fingerprinted), one copy "leaks" (re-serialised with its
# tensors reordered and its metadata stripped), and `mvault trace` names the
# leaker in a report whose signature checks out against `mvault admin audit
# pubkey` (libsodium through python3 ctypes). Also: `info` says marked /
# unmarked, a malformed push is refused in one line, `--format blob` stores it,
# `pull --exact` gives the original, an unrelated model traces to exit 3.
#
#   usage: trace_e2e_test.sh BUILD_DIR
#
# Needs BUILD_DIR/server/modelvaultd, BUILD_DIR/client/mvault (or $MODELVAULTD
# and $MVAULT), python3 and libsodium.so.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_trace_e2e.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "$0")/checks.sh"
sha() { sha256sum "$1" | cut -d' ' -f1; }

# make_model OUT SEED [PREFIX]: a safetensors file of eight F32 256x256
# tensors (N(0, 0.02), fixed seed) plus an excluded embedding and metadata.
make_model() {
  python3 - "$@" <<'PY'
import array, json, random, struct, sys
out, seed = sys.argv[1], int(sys.argv[2])
prefix = sys.argv[3] if len(sys.argv) > 3 else "model.layers"
rng = random.Random(seed)
tensors = [(f"{prefix}.{i}.mlp.up_proj.weight", [256, 256]) for i in range(8)]
tensors.append(("model.embed_tokens.weight", [64, 256]))
header, blobs, at = {"__metadata__": {"format": "pt"}}, [], 0
for name, shape in tensors:
    n = shape[0] * shape[1]
    data = array.array("f", (rng.gauss(0.0, 0.02) for _ in range(n))).tobytes()
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [at, at + len(data)]}
    blobs.append(data)
    at += len(data)
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
}

# reserialise IN OUT: the same tensors in reverse name order, no metadata.
reserialise() {
  python3 - "$1" "$2" <<'PY'
import json, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
header.pop("__metadata__", None)
body = data[8 + n:]
out_header, blobs, at = {}, [], 0
for name in sorted(header, reverse=True):
    t = header[name]
    b, e = t["data_offsets"]
    out_header[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [at, at + e - b]}
    blobs.append(body[b:e])
    at += e - b
h = json.dumps(out_header).encode()
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
PY
}

cd "$WORK"
init_vault
launch_server
if [[ -z $PORT ]]; then
  not_ok "server starts ($(head -c 500 "$WORK/serve.err"))"; finish
fi
ok "server listening on port $PORT (default --fingerprint always)"
export MODELVAULT_ADDR="127.0.0.1:$PORT"
unset MODELVAULT_TOKEN
export XDG_CONFIG_HOME="$WORK/xdg"
R=(--token-file "$ROOT_TOKEN_FILE")

# --- push, info -------------------------------------------------------------
make_model "$WORK/model.safetensors" 1
MODEL_SHA=$(sha "$WORK/model.safetensors")
mv "${R[@]}" push "$WORK/model.safetensors" acme/model
check_rc "push a float safetensors model" 0
check "push reports the fingerprint" out_has "fingerprint: marked"
mv "${R[@]}" info acme/model@1
check_rc "info" 0
check "info says marked, with positions and tensors" \
  grep -qE '^fingerprint: +marked, [0-9]+ positions in 8 tensors$' "$WORK/out"
mv "${R[@]}" info acme/model@1 -o json
check "info -o json has the fingerprint object" json "
f = d['fingerprint']; assert f['markable'] and f['tensors'] == 8 and f['positions'] > 0, f"

head -c 500000 /dev/urandom >"$WORK/blob.bin"
mv "${R[@]}" push "$WORK/blob.bin" acme/blob
check_rc "push random bytes" 0
mv "${R[@]}" info acme/blob
check "info says a blob is unmarked" \
  grep -qE '^fingerprint: +unmarked \(stored as a blob\)$' "$WORK/out"

# Claims 8 bytes of data, carries 16: the offsets do not tile the data.
python3 -c "
import struct; h=b'{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}'
open('$WORK/bad.safetensors','wb').write(struct.pack('<Q',len(h))+h+bytes(16))"
mv "${R[@]}" push "$WORK/bad.safetensors" acme/bad
check_rc "a malformed safetensors push fails (exit 1)" 1
check "the error is one line naming the format and the way out" \
  bash -c "[[ \$(wc -l <'$WORK/err') -eq 1 ]] && grep -q 'not a valid safetensors file' '$WORK/err' && grep -q -- '--format blob' '$WORK/err'"
mv "${R[@]}" info acme/bad
check_rc "nothing was stored for the malformed push" 3
mv "${R[@]}" push "$WORK/bad.safetensors" acme/bad --format blob
check_rc "--format blob stores it" 0
mv "${R[@]}" info acme/bad -o json
check "stored as an unmarked blob" json "assert d['format'] == 'blob' and not d['fingerprint']['markable'], d"

# --- 20 principals pull -----------------------------------------------------
printf '{"rules": [{"effect": "allow", "artifacts": ["acme/**"], "actions": ["read", "list"]}]}' \
  >"$WORK/reader.json"
mv "${R[@]}" admin policy put reader "$WORK/reader.json"
check_rc "policy put reader" 0
N=20
pulled=0
declare -A IDS
for i in $(seq -w 1 $N); do
  p="user$i"
  mv "${R[@]}" admin principal create "$p" --policy reader
  [[ $RC -eq 0 ]] || { not_ok "principal create $p: $(cat "$WORK/err")"; continue; }
  set +e
  "$MVAULT" "${R[@]}" admin token create --principal "$p" >"$WORK/$p.token" 2>"$WORK/err"
  set -e
  mv --token-file "$WORK/$p.token" pull acme/model@1 "$WORK/$p.safetensors" -o json
  [[ $RC -eq 0 ]] || { not_ok "$p pulls: $(cat "$WORK/err")"; continue; }
  IDS[$p]=$(python3 -c "import json; print(json.load(open('$WORK/out'))['download_id'])")
  pulled=$((pulled + 1))
done
check "$N principals pulled the model" test "$pulled" -eq "$N"
check "pull -o json says fingerprinted and carries the delivered digest" json "
assert d['delivery'] == 'fingerprinted', d
assert d['delivered_sha256'] != d['sha256'] and len(d['download_id']) == 16, d"
check "pull prints the download id and delivery on stderr" \
  grep -qE '^download id: [0-9a-f]{16} \(fingerprinted\)$' "$WORK/err"
check "each copy differs from the original but keeps its size" bash -c "
  [[ \$(sha256sum '$WORK/user05.safetensors' | cut -d' ' -f1) != '$MODEL_SHA' ]] &&
  [[ \$(stat -c %s '$WORK/user05.safetensors') -eq \$(stat -c %s '$WORK/model.safetensors') ]]"
check "two copies differ" bash -c "! cmp -s '$WORK/user01.safetensors' '$WORK/user02.safetensors'"

mv "${R[@]}" pull acme/model@1 "$WORK/exact.safetensors" --exact -o json
check_rc "root pulls --exact" 0
check "the exact pull is the original" test "$(sha "$WORK/exact.safetensors")" = "$MODEL_SHA"
check "and says so" json "assert d['delivery'] == 'exact', d"
mv --token-file "$WORK/user01.token" pull acme/model@1 "$WORK/x.safetensors" --exact
check_rc "--exact without read:exact is denied (exit 4)" 4

# --- trace ------------------------------------------------------------------
"$MVAULT" "${R[@]}" admin audit pubkey >"$WORK/vault.pub"
LEAKER=user07
reserialise "$WORK/$LEAKER.safetensors" "$WORK/leak.safetensors"
mv "${R[@]}" trace "$WORK/leak.safetensors" -o json
check_rc "trace the leak (exit 0 with a verdict)" 0
cp "$WORK/out" "$WORK/report.json"
check "the leaker is attributed with P <= 1e-9, nobody else is" json "
assert d['verdict'] == 'attributed', d['verdict']
assert d['artifact'] == 'acme/model@1', d['artifact']
c = d['candidates']
assert c[0]['principal'] == '$LEAKER', c[0]
assert c[0]['download_id'] == '${IDS[$LEAKER]}', c[0]
assert c[0]['p'] <= 1e-9, c[0]
assert all(x['verdict'] != 'attributed' for x in c[1:]), c
assert [x['z'] for x in c] == sorted((x['z'] for x in c), reverse=True)
for k in ('principal', 'download_id', 'z', 'p', 'time', 'peer', 'verdict'): assert k in c[0], k"
check "the report's signature verifies with the audit public key" python3 - "$WORK/report.json" "$WORK/vault.pub" <<'PY'
import base64, ctypes, ctypes.util, json, sys
line = open(sys.argv[1], "rb").read().rstrip(b"\n")
sig = json.loads(line)["signature"]
assert sig["algorithm"] == "ed25519", sig
key = base64.b64decode(open(sys.argv[2]).read().split()[1])
assert key.hex() == sig["public_key"], (key.hex(), sig["public_key"])
# As sig["signed"] says: the bytes before the last member, then "}". Never
# json.dumps again: Python writes some doubles with fewer digits than the
# server's JSON library, and about one report in twenty failed that way.
signed = line[:line.rindex(b',"signature":')] + b"}"
sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
assert sodium.sodium_init() >= 0
value = bytes.fromhex(sig["value"])
ok = sodium.crypto_sign_verify_detached(value, signed, ctypes.c_ulonglong(len(signed)), key) == 0
bad = signed.replace(b'"attributed"', b'"suspect"', 1)
forged = sodium.crypto_sign_verify_detached(value, bad, ctypes.c_ulonglong(len(bad)), key) == 0
sys.exit(0 if ok and not forged else 1)
PY
mv "${R[@]}" trace "$WORK/leak.safetensors"
check_rc "trace, human output" 0
sed 's/^/# /' "$WORK/out"
check "human output: verdict, artifact, candidates table, decoys" bash -c "
  grep -q '^verdict: *attributed' '$WORK/out' && grep -q '^artifact: *acme/model@1' '$WORK/out' &&
  grep -q '^PRINCIPAL  *DOWNLOAD ID' '$WORK/out' && grep -q '^$LEAKER ' '$WORK/out' &&
  grep -q '^decoys:' '$WORK/out'"
mv "${R[@]}" trace "$WORK/user03.safetensors" --artifact acme/model@1 -o json
check_rc "trace a byte copy against a named version" 0
check "a byte copy is attributed to its download" json "
assert d['verdict'] == 'attributed' and d['candidates'][0]['principal'] == 'user03', d['candidates'][:1]"

# The hidden units of every layer permuted and half of them negated (rows of
# each up_proj in an order of its own): only alignment by content, against the
# stored original, reads it.
python3 - "$WORK/user05.safetensors" "$WORK/permuted.safetensors" <<'PY'
import array, json, random, struct, sys
data = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
body = bytearray(data[8 + n:])
rng = random.Random(5)
for name, t in header.items():
    if name == "__metadata__" or ".up_proj." not in name:
        continue
    rows, cols = t["shape"]
    b = t["data_offsets"][0]
    values = array.array("f", bytes(body[b:b + rows * cols * 4]))
    order = list(range(rows))
    rng.shuffle(order)
    out = array.array("f")
    for r in order:
        sign = -1.0 if rng.random() < 0.5 else 1.0
        out.extend(sign * v for v in values[r * cols:(r + 1) * cols])
    body[b:b + rows * cols * 4] = out.tobytes()
open(sys.argv[2], "wb").write(data[:8 + n] + bytes(body))
PY
mv "${R[@]}" trace "$WORK/permuted.safetensors" -o json
check_rc "trace a leak whose hidden units were permuted and negated" 0
check "it is found by content and attributed to its download, nobody else" json "
assert d['verdict'] == 'attributed' and d['matched_by'] == 'tensor contents', (d['verdict'], d['matched_by'])
c = d['candidates']
assert c[0]['principal'] == 'user05' and c[0]['download_id'] == '${IDS[user05]}', c[0]
assert all(x['verdict'] == 'none' for x in c[1:]), c
t = [x for x in d['tensors'] if x['found']]
assert len(t) == 8 and all(x['found']['by'] == 'content' for x in t), d['tensors']
assert all(x['found']['aligned']['axis'] == 'rows' for x in t), t[0]
assert all(len(x['found']['aligned']['pairs_sha256']) == 64 for x in t), t[0]"

make_model "$WORK/unrelated.safetensors" 99 other.blocks
python3 - "$WORK/unrelated.safetensors" <<'PY'
import json, struct, sys
# Other shapes too (128 x 512), so nothing matches by name or shape.
data = bytearray(open(sys.argv[1], "rb").read())
n = struct.unpack("<Q", data[:8])[0]
h = json.loads(data[8:8 + n])
for k, t in h.items():
    if k != "__metadata__" and t["shape"] == [256, 256]: t["shape"] = [128, 512]
hb = json.dumps(h).encode()
open(sys.argv[1], "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(data[8 + n:]))
PY
mv "${R[@]}" trace "$WORK/unrelated.safetensors"
check_rc "trace of an unrelated model exits 3" 3
check "and says no version matches" err_has "no stored version matches this file"
mv --token-file "$WORK/user01.token" trace "$WORK/leak.safetensors"
check_rc "a principal who may trace nothing is refused before sending the file (exit 4)" 4
check "and told why" err_has "no policy allows trace on any artifact"
printf '{"rules": [{"effect": "allow", "artifacts": ["other/**"], "actions": ["trace"]}]}' \
  >"$WORK/other-tracer.json"
mv "${R[@]}" admin policy put other-tracer "$WORK/other-tracer.json"
mv "${R[@]}" admin principal create other-tracer --policy other-tracer
"$MVAULT" "${R[@]}" admin token create --principal other-tracer >"$WORK/other-tracer.token" 2>"$WORK/err"
mv --token-file "$WORK/other-tracer.token" trace "$WORK/leak.safetensors"
check_rc "a principal who may trace only other models learns nothing (exit 3)" 3
check "and is told no version matches" err_has "no stored version matches this file"
mv --token-file "$WORK/user01.token" trace "$WORK/leak.safetensors" --artifact acme/model@1
check_rc "naming the artifact without trace is denied (exit 4)" 4
mv "${R[@]}" trace
check_rc "trace without FILE is a usage error" 2

finish
