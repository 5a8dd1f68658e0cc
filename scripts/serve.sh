#!/usr/bin/env bash
# Installs what is missing, builds, initialises a local vault on first run and
# serves it on 127.0.0.1:7070.
#   data:        .vault/data          (LMDB)
#   master key:  .vault/master.key    (32 bytes, mode 0600 — back it up)
#   root token:  .vault/root.token    (mode 0600)
# VAULT_DIR overrides .vault, LISTEN the address. The binaries are those of
# ${BUILD_DIR:-build} (as in scripts/build.sh). MODELVAULT_SKIP_BUILD=1 skips
# the install and build steps and serves the binaries already there (the e2e
# test tests/e2e/claims_e2e_test.sh runs this script that way).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ "${MODELVAULT_SKIP_BUILD:-0}" != 1 ]; then
  scripts/install-deps.sh
  BUILD_DIR=$BUILD_DIR scripts/build.sh modelvaultd mvault
fi
VAULT=${VAULT_DIR:-.vault}
mkdir -p "$VAULT" && chmod 700 "$VAULT"
if [ ! -e "$VAULT/data/data.mdb" ]; then
  "$BUILD_DIR/server/modelvaultd" init --data-dir "$VAULT/data" --master-key-file "$VAULT/master.key" \
    --root-token-file "$VAULT/root.token"
fi
echo "vault: data $VAULT/data, master key $VAULT/master.key, root token $VAULT/root.token" >&2
echo "use it: $BUILD_DIR/client/mvault --token-file $VAULT/root.token ls" >&2
exec "$BUILD_DIR/server/modelvaultd" serve --data-dir "$VAULT/data" --master-key-file "$VAULT/master.key" \
  --listen "${LISTEN:-127.0.0.1:7070}"
