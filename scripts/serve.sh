#!/usr/bin/env bash
# Installs what is missing, builds, initialises a local vault on first run and
# serves it on 127.0.0.1:7070.
#   data:        .vault/data          (LMDB)
#   master key:  .vault/master.key    (32 bytes, mode 0600 — back it up)
#   root token:  .vault/root.token    (mode 0600)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh modelvaultd mvault
VAULT=${VAULT_DIR:-.vault}
mkdir -p "$VAULT" && chmod 700 "$VAULT"
if [ ! -e "$VAULT/data/data.mdb" ]; then
  build/server/modelvaultd init --data-dir "$VAULT/data" --master-key-file "$VAULT/master.key" \
    --root-token-file "$VAULT/root.token"
fi
echo "vault: data $VAULT/data, master key $VAULT/master.key, root token $VAULT/root.token" >&2
echo "use it: build/client/mvault --token-file $VAULT/root.token ls" >&2
exec build/server/modelvaultd serve --data-dir "$VAULT/data" --master-key-file "$VAULT/master.key" \
  --listen "${LISTEN:-127.0.0.1:7070}"
