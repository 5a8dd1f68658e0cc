#!/usr/bin/env bash
# End-to-end test of mvault against a real modelvaultd, both run as separate
# processes the way a user runs them (TESTING.md, "End-to-end").
#
#   usage: cli_e2e_test.sh BUILD_DIR
#
# Needs BUILD_DIR/server/modelvaultd, BUILD_DIR/client/mvault (or $MODELVAULTD
# and $MVAULT to override either) and python3.
# Each check prints "ok - ..." or "not ok - ..."; the last line is
# "N passed, M failed" and the exit status is non-zero if anything failed.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "$@"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mvault_e2e.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$(dirname "$0")/checks.sh"
sha() { sha256sum "$1" | cut -d' ' -f1; }

# --- server -----------------------------------------------------------------
cd "$WORK"
init_vault
TOKEN_FILE="$ROOT_TOKEN_FILE"
check "root token file holds one token" \
  grep -qE '^mvt_[A-Za-z0-9_-]+$' "$TOKEN_FILE"

launch_server
if [[ -z $PORT ]]; then
  not_ok "server prints 'listening on 127.0.0.1:PORT' ($(cat "$WORK/serve.err"))"
  echo "$PASSED passed, $FAILED failed"; exit 1
fi
ok "server listening on port $PORT"

export MODELVAULT_ADDR="127.0.0.1:$PORT"
unset MODELVAULT_TOKEN
export XDG_CONFIG_HOME="$WORK/xdg"  # never read the developer's own token
T=(--token-file "$TOKEN_FILE")

# --- push -------------------------------------------------------------------
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$WORK/model.bin"
MODEL_SHA=$(sha "$WORK/model.bin")
mv "${T[@]}" push "$WORK/model.bin" acme/llama-3-8b --label team=nlp \
  --label stage=rc --alias prod
check_rc "push with labels and alias" 0
check "push prints 'pushed NAME@N sha256:HEX'" \
  grep -qx "pushed acme/llama-3-8b@1 sha256:$MODEL_SHA" "$WORK/out"
check "push draws no progress bar when stderr is not a TTY" \
  test ! -s "$WORK/err"

printf 'second version\n' >"$WORK/v2.bin"
mv "${T[@]}" push - acme/llama-3-8b <"$WORK/v2.bin"
check_rc "push from stdin" 0
check "stdin push became version 2" out_has "pushed acme/llama-3-8b@2 "

# --- ls / info --------------------------------------------------------------
mv "${T[@]}" ls
check_rc "ls" 0
check "ls lists both versions" \
  bash -c "grep -q 'acme/llama-3-8b@1' '$WORK/out' && grep -q 'acme/llama-3-8b@2' '$WORK/out'"

mv "${T[@]}" ls acme/ -o json
check_rc "ls -o json" 0
check "ls -o json parses with stable fields" json "
v = d['versions'][0]
assert len(d['versions']) == 2, d
assert v['name'] == 'acme/llama-3-8b' and v['version'] == 1, v
assert v['ref'] == 'acme/llama-3-8b@1', v
assert v['sha256'] == '$MODEL_SHA', v
assert v['size'] == $((3 * 1024 * 1024 + 12345)), v
assert v['format'] in ('blob', 'safetensors', 'gguf'), v
assert v['labels'] == {'team': 'nlp', 'stage': 'rc'}, v
assert v['aliases'] == ['prod'], v
for k in ('created_by', 'created_at', 'chunk_size', 'cipher_suite', 'key_version'):
    assert k in v, k
assert v['created_at'].endswith('Z'), v
"

mv "${T[@]}" --output json info acme/llama-3-8b@prod
check_rc "info by alias (--output json)" 0
check "info resolves the alias to version 1" json "assert d['version'] == 1"

mv "${T[@]}" info acme/llama-3-8b@1
check_rc "info (text)" 0
check "info text shows the full digest" out_has "$MODEL_SHA"

# --- pull -------------------------------------------------------------------
mkdir -p "$WORK/pulls" && cd "$WORK/pulls"
mv "${T[@]}" pull acme/llama-3-8b@1
check_rc "pull to the default destination" 0
check "default destination is ./<last segment> and byte-identical" \
  cmp -s "$WORK/model.bin" "$WORK/pulls/llama-3-8b"
check "no .partial left after a pull" test ! -e "$WORK/pulls/llama-3-8b.partial"

mv "${T[@]}" pull acme/llama-3-8b@prod "$WORK/pulls/by-alias.bin"
check_rc "pull by alias to an explicit file" 0
check "pull by alias is byte-identical" \
  cmp -s "$WORK/model.bin" "$WORK/pulls/by-alias.bin"

mv "${T[@]}" pull "acme/llama-3-8b@sha256:$MODEL_SHA" "$WORK/pulls/by-digest.bin"
check_rc "pull by digest" 0

set +e
"$MVAULT" "${T[@]}" pull acme/llama-3-8b@1 - 2>"$WORK/err" | cmp -s - "$WORK/model.bin"
PIPE=("${PIPESTATUS[@]}")
set -e
check "pull to stdout is byte-identical and exits 0" \
  test "${PIPE[0]}" -eq 0 -a "${PIPE[1]}" -eq 0

printf 'keep me' >"$WORK/pulls/existing"
mv "${T[@]}" pull acme/llama-3-8b@1 "$WORK/pulls/existing"
check_rc "pull refuses to overwrite an existing file" 1
check "refusal says how to overwrite" err_has "--force"
check "refused file is untouched" grep -qx 'keep me' "$WORK/pulls/existing"
mv "${T[@]}" pull acme/llama-3-8b@1 "$WORK/pulls/existing" --force
check_rc "pull --force overwrites" 0
check "forced pull is byte-identical" cmp -s "$WORK/model.bin" "$WORK/pulls/existing"

# --- aliases ----------------------------------------------------------------
mv "${T[@]}" alias set acme/llama-3-8b@2 staging
check_rc "alias set" 0
mv "${T[@]}" -o json info acme/llama-3-8b@staging
check "new alias resolves to version 2" json "assert d['version'] == 2 and 'staging' in d['aliases']"
mv "${T[@]}" alias rm acme/llama-3-8b staging
check_rc "alias rm" 0
mv "${T[@]}" info acme/llama-3-8b@staging
check_rc "removed alias is not found (exit 3)" 3

# --- errors -----------------------------------------------------------------
mv "${T[@]}" pull acme/llama-3-8b@99 "$WORK/pulls/missing.bin"
check_rc "pull of a missing version exits 3" 3
check "error is one 'mvault: error:' line on stderr" \
  bash -c "[[ \$(wc -l <'$WORK/err') -eq 1 ]] && grep -q '^mvault: error: ' '$WORK/err'"
check "errors print nothing on stdout" test ! -s "$WORK/out"
check "failed pull leaves neither file nor .partial" \
  bash -c "[[ ! -e '$WORK/pulls/missing.bin' && ! -e '$WORK/pulls/missing.bin.partial' ]]"

mv "${T[@]}" rm acme/llama-3-8b@2
check_rc "rm" 0
check "rm names the deleted version" out_has "acme/llama-3-8b@2"
mv "${T[@]}" pull acme/llama-3-8b@2 "$WORK/pulls/deleted.bin"
check_rc "pull after rm exits 3" 3
check "no .partial after the failed pull" \
  test ! -e "$WORK/pulls/deleted.bin.partial" -a ! -e "$WORK/pulls/deleted.bin"

printf 'mvt_wrongwrongwrongwrongwrongwrongwrongwrongwro\n' >"$WORK/wrong.token"
mv --token-file "$WORK/wrong.token" ls
check_rc "wrong token exits 4" 4
mv ls
check_rc "no token at all exits 4" 4
check "missing token error explains where tokens come from" err_has "--token-file"
MODELVAULT_TOKEN=$(cat "$TOKEN_FILE") mv ls
check_rc "token from \$MODELVAULT_TOKEN" 0
mkdir -p "$XDG_CONFIG_HOME/modelvault"
cp "$TOKEN_FILE" "$XDG_CONFIG_HOME/modelvault/token"
mv ls
check_rc "token from \$XDG_CONFIG_HOME/modelvault/token" 0
rm "$XDG_CONFIG_HOME/modelvault/token"
mv --token "$(cat "$TOKEN_FILE")" ls
check_rc "token on argv is refused as a usage error (exit 2)" 2

mv "${T[@]}" push "$WORK/model.bin" "Bad Name"
check_rc "bad artifact name is a usage error (exit 2)" 2
check "bad name error explains the rule" err_has "invalid artifact name"
mv "${T[@]}" push "$WORK/model.bin" acme/x --label =oops
check_rc "label without a key is a usage error" 2
mv "${T[@]}" frobnicate
check_rc "unknown command is a usage error" 2

# --- interruption -----------------------------------------------------------
# Wait until the pull has created its .partial, freeze the server so the
# pull cannot finish, then Ctrl-C the client: it must exit 130 and remove
# the .partial.
head -c $((128 * 1024 * 1024)) /dev/urandom >"$WORK/large.bin"
mv "${T[@]}" push "$WORK/large.bin" acme/large
check_rc "push 128 MiB" 0
LARGE="$WORK/pulls/large.bin"
"$MVAULT" "${T[@]}" pull acme/large "$LARGE" >/dev/null 2>"$WORK/int.err" &
PULL_PID=$!
for _ in $(seq 1 500); do
  [[ -e $LARGE.partial ]] && break
  kill -0 "$PULL_PID" 2>/dev/null || break
  sleep 0.01
done
kill -STOP "$SERVER_PID"
kill -INT "$PULL_PID" 2>/dev/null || true
set +e; wait "$PULL_PID"; PULL_RC=$?; set -e
kill -CONT "$SERVER_PID"
if [[ $PULL_RC -eq 0 ]]; then
  echo "# note: pull finished before SIGINT; interruption not exercised"
  check "pull finished before SIGINT: file intact" cmp -s "$WORK/large.bin" "$LARGE"
else
  check "SIGINT during pull exits 130 (got $PULL_RC)" test "$PULL_RC" -eq 130
  check "SIGINT during pull leaves neither file nor .partial" \
    test ! -e "$LARGE" -a ! -e "$LARGE.partial"
  check "SIGINT prints one clear line" grep -q '^mvault: error: interrupted$' "$WORK/int.err"
fi
mv "${T[@]}" pull acme/large "$WORK/pulls/large-again.bin"
check_rc "server still serves after the interrupted pull" 0
check "pull after interruption is byte-identical" \
  cmp -s "$WORK/large.bin" "$WORK/pulls/large-again.bin"

# --- server shutdown --------------------------------------------------------
kill -TERM "$SERVER_PID"
set +e
for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
wait "$SERVER_PID"; SERVE_RC=$?
set -e
SERVER_PID=""
check "server exits 0 on SIGTERM (got $SERVE_RC)" test "$SERVE_RC" -eq 0

mv "${T[@]}" ls
check_rc "server down exits 6" 6
check "unreachable error names the address" \
  err_has "cannot reach modelvault server at 127.0.0.1:$PORT"

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
