#include "vault/vault_migration.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/legacy_key_wrap.h"
#include "crypto/master_key.h"
#include "storage/barrier.h"
#include "vault/identity_store.h"
#include "vault/records.h"
#include "vault/vault.h"
#include "vault/vault_keys.h"

namespace mv {
namespace {

constexpr std::string_view kTokenKeyKey = kTokenKeySpec.meta_name;
constexpr std::string_view kAuditKeyKey = kAuditKeySpec.meta_name;
constexpr std::string_view kFingerprintKeyKey = kFingerprintKeySpec.meta_name;

// Sets "migration_unrecorded" to `from` unless an earlier step of this open
// set it (the record then says where the whole way started).
absl::Status NoteMigration(WriteTxn& txn, const Dbs& dbs,
                           std::string_view from) {
  MV_ASSIGN_OR_RETURN(auto earlier, txn.Get(dbs.meta, kMigrationUnrecordedKey));
  if (earlier) return absl::OkStatus();
  return txn.Put(dbs.meta, kMigrationUnrecordedKey, from);
}

}  // namespace

// Re-seals every value of a format-1 vault behind a new vault id's barrier
// in one write transaction: a crash leaves the old vault or the new one.
absl::Status MigrateToBarrier(LmdbEnv& env, const Dbs& dbs,
                              const SecretKey& kek) {
  std::string vault_id(StorageBarrier::kVaultIdSize, '\0');
  randombytes_buf(vault_id.data(), vault_id.size());
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::NewLegacy(kek, vault_id));
  return env.Write([&](WriteTxn& txn) -> absl::Status {
    std::string sealed;
    for (const char* name : Dbs::kNames) {
      if (!barrier->Seals(name, "")) continue;  // chunks
      const MDB_dbi db = env.Db(name);
      MV_ASSIGN_OR_RETURN(const Txn::Records records, txn.ReadAll(db));
      for (const auto& [k, v] : records) {
        if (!barrier->Seals(name, k)) continue;
        barrier->Seal(name, k, v, &sealed);
        MV_RETURN_IF_ERROR(txn.Put(db, k, sealed));
      }
    }
    // A vault from before the audit log or leak tracing gets their keys
    // here, in the same transaction (its log starts empty, its versions
    // are unmarked).
    MV_ASSIGN_OR_RETURN(SecretKey kek_copy, SecretKey::FromBytes(kek.span()));
    const LegacyKeyWrap keys(std::move(kek_copy));
    for (std::string_view name : {kAuditKeyKey, kFingerprintKeyKey}) {
      MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.meta, name));
      if (stored) continue;
      MV_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
      barrier->Seal("meta", name, keys.WrapNamedKey(name, key), &sealed);
      MV_RETURN_IF_ERROR(txn.Put(dbs.meta, name, sealed));
    }
    barrier->Seal("meta", kMigrationUnrecordedKey, "1", &sealed);
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kMigrationUnrecordedKey, sealed));
    // Then on to the current format, step by step (RaiseBarrier).
    barrier->Seal("meta", kFormatKey, IdKey(kBarrierFormat), &sealed);
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kFormatKey, sealed));
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.meta, kKeyCheckKey, KeyCheckValue(kek, vault_id)));
    return txn.Put(dbs.meta, StorageBarrier::kVaultIdKey, vault_id);
  });
}

// Format 2 → 3, in one write transaction behind the barrier: a certificate
// identity stored bare gets the kind format 2 matched it as (a SAN URI had
// "://", anything else was the CN), in the cert_identities index and in its
// principal's record.
absl::Status MigrateCertIdentityKinds(LmdbEnv& env, const Dbs& dbs) {
  const auto kinded = [](std::string_view bare) {
    std::string out(bare.find("://") != std::string_view::npos
                        ? kCertIdentityUri
                        : kCertIdentityCn);
    return out.append(bare);
  };
  return env.Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(const Txn::Records identities,
                        txn.ReadAll(dbs.cert_identities));
    // Every old key goes before any new one is written: a bare CN may be
    // spelled like another one's new key ("a" → "cn:a", and a CN "cn:a").
    for (const auto& [identity, principal] : identities)
      MV_RETURN_IF_ERROR(txn.Delete(dbs.cert_identities, identity));
    for (const auto& [identity, principal] : identities) {
      MV_RETURN_IF_ERROR(
          txn.Put(dbs.cert_identities, kinded(identity), principal));
    }
    MV_ASSIGN_OR_RETURN(const Txn::Records principals,
                        txn.ReadAll(dbs.principals));
    for (const auto& [name, value] : principals) {
      MV_ASSIGN_OR_RETURN(PrincipalRecord record, DecodePrincipal(value));
      if (record.cert_identity.empty()) continue;
      record.cert_identity = kinded(record.cert_identity);
      MV_RETURN_IF_ERROR(
          txn.Put(dbs.principals, name, EncodePrincipal(record)));
    }
    MV_RETURN_IF_ERROR(NoteMigration(txn, dbs, "2"));
    return txn.Put(dbs.meta, kFormatKey, IdKey(kCertKindFormat));
  });
}

absl::StatusOr<std::unique_ptr<KeyStore>> MigrateToKeyring(
    LmdbEnv& env, const Dbs& dbs, const VaultOptions& options,
    const SecretKey& kek, std::string_view vault_id) {
  // A key file left by an attempt that did not commit is replaced.
  MV_ASSIGN_OR_RETURN(SecretKey master, SecretKey::FromBytes(kek.span()));
  MV_ASSIGN_OR_RETURN(
      std::unique_ptr<KeyStore> keys,
      KeyStore::Create(options.data_dir, vault_id, std::move(master),
                       absl::ToUnixMillis(options.clock->Now())));
  MV_ASSIGN_OR_RETURN(
      std::unique_ptr<StorageBarrier> migrating,
      StorageBarrier::NewMigrating(kek, keys->holder(), vault_id));
  env.SetBarrier(std::move(migrating));  // opens layout 1, seals layout 2
  MV_ASSIGN_OR_RETURN(SecretKey kek_copy, SecretKey::FromBytes(kek.span()));
  const LegacyKeyWrap legacy(std::move(kek_copy));
  const std::shared_ptr<const KeyRing> ring = keys->ring();
  MV_RETURN_IF_ERROR(env.Write([&](WriteTxn& txn) -> absl::Status {
    for (const char* name : Dbs::kNames) {
      if (std::string_view(name) == "chunks") continue;  // sealed by DEKs
      const MDB_dbi db = env.Db(name);
      MV_ASSIGN_OR_RETURN(const Txn::Records records, txn.ReadAll(db));
      for (const auto& [k, v] : records)
        MV_RETURN_IF_ERROR(txn.Put(db, k, v));  // re-sealed by the keyring
    }
    MV_ASSIGN_OR_RETURN(const Txn::Records versions, txn.ReadAll(dbs.versions));
    for (const auto& [k, v] : versions) {
      MV_ASSIGN_OR_RETURN(VersionRecord record, DecodeVersion(v));
      if (record.wrapped_dek.empty()) continue;
      MV_ASSIGN_OR_RETURN(
          SecretKey dek,
          legacy.UnwrapDataKey(record.version_id, record.key_version,
                               record.wrapped_dek));
      MV_RETURN_IF_ERROR(keys->Import(record.version_id, dek));
      record.key_version = 0;
      sodium_memzero(record.wrapped_dek.data(), record.wrapped_dek.size());
      record.wrapped_dek.clear();
      MV_RETURN_IF_ERROR(txn.Put(dbs.versions, k, EncodeVersion(record)));
    }
    // Synced before the commit: no version is published without its key.
    MV_RETURN_IF_ERROR(keys->Sync());
    for (std::string_view name :
         {kTokenKeyKey, kAuditKeyKey, kFingerprintKeyKey}) {
      MV_ASSIGN_OR_RETURN(auto wrapped, txn.Get(dbs.meta, name));
      if (!wrapped) continue;  // Open names what is missing
      absl::StatusOr<SecretKey> key =
          legacy.UnwrapNamedKey(name, std::string(*wrapped));
      if (!key.ok()) continue;  // damaged: Open names it, with the remedy
      MV_RETURN_IF_ERROR(
          txn.Put(dbs.meta, name, ring->WrapNamedKey(name, *key)));
    }
    MV_RETURN_IF_ERROR(NoteMigration(txn, dbs, "3"));
    return txn.Put(dbs.meta, kFormatKey, IdKey(Vault::kDataFormat));
  }));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::New(keys->holder(), vault_id));
  env.SetBarrier(std::move(barrier));  // layout 2 only from now on
  return keys;
}

}  // namespace mv
