// The in-place migrations of an older data format, one step each, as
// Vault::Open runs them (vault_lifecycle.cc) when VaultOptions::migrate.
// Each step is one LMDB write transaction: a crash leaves the vault at the
// format before the step or after it. Each leaves meta
// "migration_unrecorded" (the format it started from, unless an earlier
// step of the same open set it) for Vault::RecordMigration to audit.
//
// Internal to src/vault; not thread-safe (Open holds the data dir alone).
#ifndef MODELVAULT_VAULT_VAULT_MIGRATION_H_
#define MODELVAULT_VAULT_VAULT_MIGRATION_H_

#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/key_store.h"
#include "vault/vault_options.h"

namespace mv {

inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kKeyCheckKey = "kcv";
inline constexpr std::string_view kMigrationUnrecordedKey =
    "migration_unrecorded";
// Format 2 put every record behind the storage barrier (layout 1); format
// 3 names the kind of every certificate identity ("uri:…", "cn:…");
// format 4 (Vault::kDataFormat) keeps every key in the keyring.
inline constexpr uint64_t kBarrierFormat = 2;
inline constexpr uint64_t kCertKindFormat = 3;

// 1 → 2: re-seals every value behind a new vault id's layout-1 barrier and
// gives a vault from before the audit log or leak tracing their keys.
absl::Status MigrateToBarrier(LmdbEnv& env, const Dbs& dbs,
                              const SecretKey& kek);
// 2 → 3: a certificate identity stored bare gets its kind. REQUIRES: the
// layout-1 barrier is up.
absl::Status MigrateCertIdentityKinds(LmdbEnv& env, const Dbs& dbs);
// 3 → 4: makes the key file and its keyring, moves every version's data
// key into it, re-seals every value under the keyring (layout 2) and
// rewraps the named keys. Leaves the keyring's barrier up and returns the
// key store. REQUIRES: the layout-1 barrier is up.
absl::StatusOr<std::unique_ptr<KeyStore>> MigrateToKeyring(
    LmdbEnv& env, const Dbs& dbs, const VaultOptions& options,
    const SecretKey& kek, std::string_view vault_id);

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_MIGRATION_H_
