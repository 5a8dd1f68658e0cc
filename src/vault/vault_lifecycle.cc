// Vault creation and opening: the data dir, the meta records, the key check
// value and the sealed vault-wide keys.
#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"
#include "storage/barrier.h"
#include "vault/catalog.h"
#include "vault/identity_store.h"
#include "vault/vault.h"
#include "vault/vault_keys.h"

namespace mv {
namespace {

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kKeyCheckKey = "kcv";
constexpr std::string_view kNextVersionIdKey = "next_version_id";
// Written by the migration transaction, deleted with the migration's audit
// record: a migration whose record could not be written yet (a crash, or a
// refused witness) is recorded on the next open that gets that far. Its
// value is the format migrated from, as a decimal digit.
constexpr std::string_view kMigrationUnrecordedKey = "migration_unrecorded";
// Format 2 put every record behind the storage barrier; format 3 names the
// kind of every certificate identity ("uri:…", "cn:…").
constexpr uint64_t kBarrierFormat = 2;
// The token hashing key, the audit checkpoint-signing seed and K_fp, the
// MVFP-1 fingerprint master key (trace/keys.h), each wrapped by the KEK.
constexpr std::string_view kTokenKeyKey = kTokenKeySpec.meta_name;
constexpr std::string_view kAuditKeyKey = kAuditKeySpec.meta_name;
constexpr std::string_view kFingerprintKeyKey = kFingerprintKeySpec.meta_name;

std::string DataFile(const std::string& dir) { return dir + "/data.mdb"; }

absl::Status WrongKey(const VaultOptions& options) {
  return absl::FailedPreconditionError(
      absl::StrCat("wrong master key for ", options.data_dir,
                   " (key check value mismatch)"));
}

// The refusal of an older format when Open may not migrate (verify).
absl::Status MigrateFirst(const VaultOptions& options,
                          std::string_view format) {
  return absl::FailedPreconditionError(absl::StrCat(
      "data dir ", options.data_dir, " has format ", std::string(format),
      "; migrate it first: modelvaultd migrate --data-dir ", options.data_dir,
      " (serve migrates on start)"));
}

bool SameBytes(std::optional<std::string_view> stored,
               const std::string& expected) {
  return stored && stored->size() == expected.size() &&
         sodium_memcmp(stored->data(), expected.data(), expected.size()) == 0;
}

// Re-seals every value of a format-1 vault behind a new vault id's barrier
// in one write transaction: a crash leaves the old vault or the new one.
absl::Status MigrateToBarrier(LmdbEnv& env, const Dbs& dbs,
                              const SecretKey& kek) {
  std::string vault_id(StorageBarrier::kVaultIdSize, '\0');
  randombytes_buf(vault_id.data(), vault_id.size());
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::New(kek, vault_id));
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
    const KeyRing keys(std::move(kek_copy));
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
    MV_ASSIGN_OR_RETURN(auto from_barrier,
                        txn.Get(dbs.meta, kMigrationUnrecordedKey));
    if (!from_barrier) {  // a 1 → 2 step in this open keeps its "1"
      MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kMigrationUnrecordedKey, "2"));
    }
    return txn.Put(dbs.meta, kFormatKey, IdKey(Vault::kDataFormat));
  });
}

// Checks `kek` against the vault in `env` and puts the storage barrier up.
// A format-1 vault (from before the barrier) is migrated first if
// options.migrate, else refused. Returns whether it migrated (the
// migration's audit record is pending in meta until RecordMigration).
//
// A key check value that is missing or wrong while `kek` opens the sealed
// format record is damage, not a wrong key: Open refuses with the recovery
// line, or, when `new_key_check` is given (regenerate-key), sets it to the
// value to store.
absl::StatusOr<bool> RaiseBarrier(LmdbEnv& env, const Dbs& dbs,
                                  const VaultOptions& options,
                                  const SecretKey& kek,
                                  std::string* new_key_check) {
  std::optional<std::string> vault_id, format;
  bool v1_key = false, v2_key = false;
  MV_RETURN_IF_ERROR(env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto id,
                        txn.Get(dbs.meta, StorageBarrier::kVaultIdKey));
    MV_ASSIGN_OR_RETURN(auto f, txn.Get(dbs.meta, kFormatKey));
    MV_ASSIGN_OR_RETURN(auto kcv, txn.Get(dbs.meta, kKeyCheckKey));
    if (id) vault_id = std::string(*id);
    if (f) format = std::string(*f);
    v1_key = SameBytes(kcv, KeyCheckValue(kek));
    if (id) v2_key = SameBytes(kcv, KeyCheckValue(kek, *id));
    return absl::OkStatus();
  }));
  if (!format) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.data_dir,
                     " is not an initialised vault; run: modelvaultd init"));
  }
  bool migrated = false;
  if (!vault_id) {
    const uint64_t legacy =
        format->size() == 8
            ? GetBigEndian64(reinterpret_cast<const uint8_t*>(format->data()))
            : 0;
    if (legacy != 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          "data dir ", options.data_dir,
          " has no vault id and no format-1 record: not a vault this "
          "modelvaultd can open (tampered meta?)"));
    }
    if (!v1_key) return WrongKey(options);
    if (!options.migrate) {
      return MigrateFirst(options, "1 (before the storage barrier)");
    }
    MV_RETURN_IF_ERROR(MigrateToBarrier(env, dbs, kek));
    migrated = true;
    MV_RETURN_IF_ERROR(env.Read([&](const Txn& txn) -> absl::Status {
      MV_ASSIGN_OR_RETURN(auto id,
                          txn.Get(dbs.meta, StorageBarrier::kVaultIdKey));
      MV_ASSIGN_OR_RETURN(auto kcv, txn.Get(dbs.meta, kKeyCheckKey));
      if (id) vault_id = std::string(*id);
      v2_key = id && SameBytes(kcv, KeyCheckValue(kek, *id));
      return absl::OkStatus();
    }));
  }
  if (!vault_id) return WrongKey(options);
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::New(kek, *vault_id));
  env.SetBarrier(std::move(barrier));
  uint64_t version = 0;
  const absl::Status read = env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto f, txn.Get(dbs.meta, kFormatKey));
    if (f && f->size() == 8)
      version = GetBigEndian64(reinterpret_cast<const uint8_t*>(f->data()));
    return absl::OkStatus();
  });
  if (!v2_key) {
    if (!read.ok()) return WrongKey(options);  // the barrier did not open
    if (new_key_check == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the key check value of ", options.data_dir,
          " is missing or damaged, but this master key opens its sealed "
          "records; ",
          RecoveryHint(VaultKey::kKeyCheck, options.data_dir)));
    }
    *new_key_check = KeyCheckValue(kek, *vault_id);
  } else if (new_key_check != nullptr) {
    return absl::FailedPreconditionError(
        "the vault's key check value is intact; nothing to regenerate");
  }
  MV_RETURN_IF_ERROR(read);
  if (version == kBarrierFormat) {
    if (!options.migrate) {
      return MigrateFirst(options,
                          "2 (certificate identities without their kind)");
    }
    MV_RETURN_IF_ERROR(MigrateCertIdentityKinds(env, dbs));
    migrated = true;
    version = Vault::kDataFormat;
  }
  if (version != Vault::kDataFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", options.data_dir, " has format ", version,
        "; this modelvaultd supports format ", Vault::kDataFormat));
  }
  return migrated;
}

}  // namespace

bool Vault::Exists(const std::string& data_dir) {
  std::error_code ec;
  return std::filesystem::exists(DataFile(data_dir), ec);
}

absl::StatusOr<std::unique_ptr<LmdbEnv>> Vault::OpenEnv(
    const VaultOptions& options) {
  return LmdbEnv::Open({options.data_dir, options.map_size}, Dbs::kNames);
}

absl::StatusOr<std::string> Vault::Init(const VaultOptions& options,
                                        SecretKey kek) {
  if (Exists(options.data_dir)) {
    return absl::AlreadyExistsError(
        absl::StrCat("a vault already exists in ", options.data_dir));
  }
  if (mkdir(options.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create ", options.data_dir, ": ", std::strerror(errno)));
  }
  MV_ASSIGN_OR_RETURN(std::unique_ptr<LmdbEnv> env, OpenEnv(options));
  const Dbs dbs = Dbs::Of(*env);
  std::string vault_id(StorageBarrier::kVaultIdSize, '\0');
  randombytes_buf(vault_id.data(), vault_id.size());
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::New(kek, vault_id));
  env->SetBarrier(std::move(barrier));
  const std::string kcv = KeyCheckValue(kek, vault_id);
  const KeyRing keys(std::move(kek));
  MV_ASSIGN_OR_RETURN(SecretKey token_key, SecretKey::Random());
  const std::string wrapped_token_key =
      keys.WrapNamedKey(kTokenKeyKey, token_key);
  MV_ASSIGN_OR_RETURN(SecretKey audit_seed, SecretKey::Random());
  const std::string wrapped_audit_key =
      keys.WrapNamedKey(kAuditKeyKey, audit_seed);
  MV_ASSIGN_OR_RETURN(SecretKey fingerprint_key, SecretKey::Random());
  const std::string wrapped_fingerprint_key =
      keys.WrapNamedKey(kFingerprintKeyKey, fingerprint_key);
  const TokenHasher hasher(std::move(token_key));
  std::string root_token = GenerateToken();
  const int64_t now = absl::ToUnixMillis(options.clock->Now());
  TokenRecord root_token_record;
  root_token_record.principal = kRootPrincipal;
  root_token_record.accessor = GenerateAccessor();
  root_token_record.created_at_unix_ms = now;
  MV_RETURN_IF_ERROR(env->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.meta, StorageBarrier::kVaultIdKey, vault_id));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kFormatKey, IdKey(kDataFormat)));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kKeyCheckKey, kcv));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kNextVersionIdKey, IdKey(1)));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kTokenKeyKey, wrapped_token_key));
    MV_RETURN_IF_ERROR(txn.Put(dbs.meta, kAuditKeyKey, wrapped_audit_key));
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.meta, kFingerprintKeyKey, wrapped_fingerprint_key));
    MV_RETURN_IF_ERROR(txn.Put(dbs.principals, kRootPrincipal,
                               EncodePrincipal(RootPrincipalRecord(now))));
    return PutToken(txn, dbs, hasher.Hash(root_token), root_token_record);
  }));
  return root_token;
}

absl::StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& options,
                                                   SecretKey kek) {
  return OpenAndRegenerate(options, std::move(kek), std::nullopt);
}

absl::StatusOr<std::string> Vault::RegenerateKey(const VaultOptions& options,
                                                 SecretKey kek, VaultKey key) {
  VaultOptions quiet = options;
  quiet.collect_pending_on_open = false;  // change nothing but the key
  quiet.migrate = false;
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault,
                      OpenAndRegenerate(quiet, std::move(kek), key));
  if (key != VaultKey::kToken) return std::string();
  return vault->identity().MintRootToken("modelvaultd regenerate-key");
}

absl::StatusOr<std::unique_ptr<Vault>> Vault::OpenAndRegenerate(
    const VaultOptions& options, SecretKey kek,
    std::optional<VaultKey> regenerate) {
  if (!Exists(options.data_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no vault in ", options.data_dir,
                     "; run: modelvaultd init --data-dir ", options.data_dir));
  }
  MV_ASSIGN_OR_RETURN(std::unique_ptr<LmdbEnv> env, OpenEnv(options));
  const Dbs dbs = Dbs::Of(*env);
  std::string new_key_check;
  // A migration is recorded below (RecordMigration), once the log is open.
  MV_RETURN_IF_ERROR(
      RaiseBarrier(*env, dbs, options, kek,
                   regenerate == VaultKey::kKeyCheck ? &new_key_check : nullptr)
          .status());
  KeyRing keys(std::move(kek));
  // Every key is checked before anything is written, so a refusal changes
  // nothing.
  const auto load = [&](const NamedKeySpec& spec) {
    return LoadVaultKey(*env, dbs, keys, spec, options.data_dir, regenerate);
  };
  MV_ASSIGN_OR_RETURN(LoadedKey token_key, load(kTokenKeySpec));
  MV_ASSIGN_OR_RETURN(LoadedKey audit_seed, load(kAuditKeySpec));
  MV_ASSIGN_OR_RETURN(LoadedKey fingerprint_key, load(kFingerprintKeySpec));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<AuditSigningKey> audit_key,
                      AuditSigningKey::FromSeed(audit_seed.key));
  std::vector<std::pair<std::string_view, std::string>> meta_writes;
  if (!new_key_check.empty())
    meta_writes.emplace_back(kKeyCheckKey, new_key_check);
  for (auto [name, loaded] :
       {std::pair{kTokenKeyKey, &token_key},
        std::pair{kFingerprintKeyKey, &fingerprint_key}}) {
    if (!loaded->new_wrapped.empty())
      meta_writes.emplace_back(name, std::move(loaded->new_wrapped));
  }
  std::unique_ptr<Vault> vault(new Vault(options, std::move(env),
                                         std::move(keys), std::move(audit_key),
                                         std::move(fingerprint_key.key)));
  MV_RETURN_IF_ERROR(vault->Assemble(TokenHasher(std::move(token_key.key))));
  if (!options.audit.inspect_only) {
    MV_ASSIGN_OR_RETURN(vault->migrated_on_open_, vault->RecordMigration());
  }
  if (regenerate) {
    MV_RETURN_IF_ERROR(vault->StoreRegeneratedKey(*regenerate, meta_writes));
  }
  // No upload survives a restart: every pending one is abandoned.
  if (options.collect_pending_on_open) {
    MV_RETURN_IF_ERROR(
        vault->catalog().CollectGarbage(absl::ZeroDuration()).status());
  }
  return vault;
}

absl::StatusOr<bool> Vault::RecordMigration() {
  const Dbs dbs = Dbs::Of(*env_);
  bool recorded = false;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto pending,
                        txn.Get(dbs.meta, kMigrationUnrecordedKey));
    if (!pending) return absl::OkStatus();
    AuditRecord audit;  // on record, like every change to the vault
    audit.method = "modelvaultd migrate";
    audit.decision = AuditDecision::kAllowed;
    audit.resource = "vault";
    audit.reason = absl::StrCat(
        "migrated from data format ", std::string(*pending), " to ",
        kDataFormat,
        *pending == "1" ? " (storage barrier; certificate identities with "
                          "their kind)"
                        : " (certificate identities with their kind)");
    MV_RETURN_IF_ERROR(audit_->AppendSanitized(txn, std::move(audit)));
    recorded = true;
    return txn.Delete(dbs.meta, kMigrationUnrecordedKey);
  }));
  return recorded;
}

absl::Status Vault::StoreRegeneratedKey(
    VaultKey key,
    const std::vector<std::pair<std::string_view, std::string>>& meta_writes) {
  const Dbs dbs = Dbs::Of(*env_);
  AuditRecord audit;
  audit.method = "modelvaultd regenerate-key";
  audit.decision = AuditDecision::kAllowed;
  audit.resource = absl::StrCat("key:", std::string(VaultKeyName(key)));
  audit.reason = std::string(RegenerationLoss(key));
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    for (const auto& [name, value] : meta_writes)
      MV_RETURN_IF_ERROR(txn.Put(dbs.meta, name, value));
    if (key == VaultKey::kToken) {  // hashes under the lost key: dead
      MV_RETURN_IF_ERROR(txn.Clear(dbs.tokens));
      MV_RETURN_IF_ERROR(txn.Clear(dbs.accessors));
    }
    return audit_->AppendSanitized(txn, std::move(audit));
  });
}

absl::StatusOr<std::string> Vault::IssueRootToken(const VaultOptions& options,
                                                  SecretKey kek) {
  VaultOptions quiet = options;
  quiet.collect_pending_on_open = false;  // change nothing but the tokens
  MV_ASSIGN_OR_RETURN(std::unique_ptr<Vault> vault,
                      Open(quiet, std::move(kek)));
  return vault->identity().MintRootToken("modelvaultd root-token");
}

Vault::Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env, KeyRing keys,
             std::unique_ptr<AuditSigningKey> audit_key,
             SecretKey fingerprint_key)
    : options_(std::move(options)),
      env_(std::move(env)),
      keys_(std::move(keys)),
      audit_key_(std::move(audit_key)),
      fingerprint_key_(std::move(fingerprint_key)) {}

absl::Status Vault::Assemble(TokenHasher tokens) {
  AuditLog::Options audit_options = options_.audit;
  audit_options.clock = options_.clock;
  MV_ASSIGN_OR_RETURN(audit_, AuditLog::Open(env_.get(), audit_key_.get(),
                                             std::move(audit_options)));
  MV_ASSIGN_OR_RETURN(identity_, IdentityStore::Load(options_, *env_, *audit_,
                                                     std::move(tokens)));
  catalog_ = std::make_unique<Catalog>(options_, *env_, keys_, *audit_,
                                       fingerprint_key_, *identity_);
  downloads_ =
      std::make_unique<DownloadIndex>(options_, *env_, *audit_, *identity_);
  tracer_ =
      std::make_unique<Tracer>(options_, *env_, keys_, *audit_, *audit_key_,
                               fingerprint_key_, *identity_, *downloads_);
  return absl::OkStatus();
}

}  // namespace mv
