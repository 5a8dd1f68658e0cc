// The vault-wide keys kept in meta, wrapped by the KEK (crypto/key_ring.h):
// what Vault::Open loads, and what it tells an operator when one is missing
// or does not open. A key is never silently replaced (a new fingerprint key
// would orphan every mark, a new token key every token); only
// `modelvaultd regenerate-key` replaces one, on record (Vault::RegenerateKey).
#ifndef MODELVAULT_VAULT_VAULT_KEYS_H_
#define MODELVAULT_VAULT_VAULT_KEYS_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/key_ring.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/vault_options.h"

namespace mv {

struct NamedKeySpec {
  std::string_view meta_name;  // its record in meta
  // The regenerate-key choice that replaces it; nullopt when only a backup
  // can (the audit signing key: every checkpoint and the witness are signed
  // with it, so a new one would make the history unverifiable).
  std::optional<VaultKey> regenerable;
};
inline constexpr NamedKeySpec kTokenKeySpec{"token_key", VaultKey::kToken};
inline constexpr NamedKeySpec kAuditKeySpec{"audit_signing_key", std::nullopt};
inline constexpr NamedKeySpec kFingerprintKeySpec{"fingerprint_key",
                                                  VaultKey::kFingerprint};

// A key as Open found it. `new_wrapped` is its wrapped form when Open made
// it and must still store it ("" when it is stored already).
struct LoadedKey {
  SecretKey key;
  std::string new_wrapped;
};

// Loads `spec` from meta in `env`.
// - Stored and opens: the key; FAILED_PRECONDITION "intact" if `regenerate`
//   names it (rotation is not regeneration).
// - Missing or does not open, and `regenerate` names it: a new random key.
// - Otherwise FAILED_PRECONDITION (missing) or DATA_LOSS (does not open):
//   one line naming the key and how to recover (RecoveryHint).
absl::StatusOr<LoadedKey> LoadVaultKey(const LmdbEnv& env, const Dbs& dbs,
                                       const KeyRing& keys,
                                       const NamedKeySpec& spec,
                                       std::string_view data_dir,
                                       std::optional<VaultKey> regenerate);

// "restore the data dir from a backup, or run: modelvaultd regenerate-key
// --key K --data-dir D --master-key-file FILE (audited; <what it loses>)".
// What regenerating `key` loses, in a few words (for messages and audit).
std::string_view RegenerationLoss(VaultKey key);
std::string RecoveryHint(std::optional<VaultKey> key,
                         std::string_view data_dir);

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_KEYS_H_
