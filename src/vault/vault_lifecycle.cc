// Vault creation and opening: the data dir, the meta records, the key check
// value and the sealed vault-wide keys.
#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"
#include "storage/barrier.h"
#include "vault/catalog.h"
#include "vault/identity_store.h"
#include "vault/vault.h"
#include "vault/vault_keys.h"
#include "vault/vault_migration.h"

namespace mv {
namespace {

constexpr std::string_view kNextVersionIdKey = "next_version_id";
// Meta "migration_unrecorded" (vault_migration.h) is deleted with the
// migration's audit record: a migration whose record could not be written
// yet (a crash, or a refused witness) is recorded on the next open that
// gets that far. Its value is the format migrated from, as a decimal digit.
//
// The token hashing key, the audit checkpoint-signing seed and K_fp, the
// MVFP-1 fingerprint master key (trace/keys.h), each wrapped by the keyring.
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

// What the steps from `from` to the current format did, for the record.
std::string MigrationSteps(std::string_view from) {
  std::vector<std::string> steps;
  if (from == "1") steps.push_back("storage barrier");
  if (from <= "2") steps.push_back("certificate identities with their kind");
  steps.push_back("the keyring and the key file");
  return absl::StrCat(" (", absl::StrJoin(steps, "; "), ")");
}

bool SameBytes(std::optional<std::string_view> stored,
               const std::string& expected) {
  return stored && stored->size() == expected.size() &&
         sodium_memcmp(stored->data(), expected.data(), expected.size()) == 0;
}

// The format record, read through the barrier that is up.
absl::Status ReadFormat(const LmdbEnv& env, const Dbs& dbs, uint64_t* format) {
  return env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto f, txn.Get(dbs.meta, kFormatKey));
    if (f && f->size() == 8)
      *format = GetBigEndian64(reinterpret_cast<const uint8_t*>(f->data()));
    return absl::OkStatus();
  });
}

// What RaiseBarrier leaves: whether it migrated (the migration's audit
// record is pending in meta until RecordMigration) and the vault's keys.
struct Raised {
  bool migrated = false;
  std::unique_ptr<KeyStore> keys;
};

// Checks `kek` against the vault in `env` and puts the storage barrier up.
// An older format is migrated step by step if options.migrate, else
// refused (vault_migration.h).
//
// Formats 2 and 3 seal records with the layout-1 barrier, keyed from the
// master key; format 4 with the keyring in the key file, which opens only
// under the master key. The layout-1 barrier is tried first: it opens the
// format record of a format-2/3 vault and nothing of a format-4 one.
//
// A key check value that is missing or wrong while `kek` opens the sealed
// format record is damage, not a wrong key: Open refuses with the recovery
// line, or, when `new_key_check` is given (regenerate-key), sets it to the
// value to store.
absl::StatusOr<Raised> RaiseBarrier(LmdbEnv& env, const Dbs& dbs,
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
  Raised raised;
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
    raised.migrated = true;
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
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> legacy,
                      StorageBarrier::NewLegacy(kek, *vault_id));
  env.SetBarrier(std::move(legacy));
  uint64_t version = 0;
  absl::Status read = ReadFormat(env, dbs, &version);
  if (!read.ok()) {  // not layout 1: the keyring's, if the key opens it
    MV_ASSIGN_OR_RETURN(SecretKey master, SecretKey::FromBytes(kek.span()));
    absl::StatusOr<std::unique_ptr<KeyStore>> keys =
        KeyStore::Open(options.data_dir, *vault_id, std::move(master));
    if (!keys.ok()) {
      env.SetBarrier(nullptr);
      if (!v2_key) return WrongKey(options);
      return keys.status();
    }
    // Without the key check value, a keyring that opens is proof only when
    // no other key's generation is in the file: after a crash in a rekey,
    // the key that did not commit opens one too.
    if (!v2_key) {
      MV_ASSIGN_OR_RETURN(int foreign, (*keys)->ForeignKeyRings());
      if (foreign != 0) {
        env.SetBarrier(nullptr);
        return WrongKey(options);
      }
    }
    MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                        StorageBarrier::New((*keys)->holder(), *vault_id));
    env.SetBarrier(std::move(barrier));
    raised.keys = *std::move(keys);
    read = ReadFormat(env, dbs, &version);
  }
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
    raised.migrated = true;
    version = kCertKindFormat;
  }
  if (version == kCertKindFormat && raised.keys == nullptr) {
    if (!options.migrate) {
      return MigrateFirst(options,
                          "3 (keys under the master key, before the "
                          "keyring)");
    }
    MV_ASSIGN_OR_RETURN(raised.keys,
                        MigrateToKeyring(env, dbs, options, kek, *vault_id));
    raised.migrated = true;
    version = Vault::kDataFormat;
  }
  if (version != Vault::kDataFormat || raised.keys == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", options.data_dir, " has format ", version,
        "; this modelvaultd supports format ", Vault::kDataFormat));
  }
  // The key is proven: what a crash in a rotation or rekey left goes.
  if (!options.audit.inspect_only) MV_RETURN_IF_ERROR(raised.keys->Tidy());
  return raised;
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
  const std::string kcv = KeyCheckValue(kek, vault_id);
  const int64_t now = absl::ToUnixMillis(options.clock->Now());
  MV_ASSIGN_OR_RETURN(
      std::unique_ptr<KeyStore> store,
      KeyStore::Create(options.data_dir, vault_id, std::move(kek), now));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<StorageBarrier> barrier,
                      StorageBarrier::New(store->holder(), vault_id));
  env->SetBarrier(std::move(barrier));
  const std::shared_ptr<const KeyRing> ring = store->ring();
  const KeyRing& keys = *ring;
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
  MV_ASSIGN_OR_RETURN(
      Raised raised,
      RaiseBarrier(
          *env, dbs, options, kek,
          regenerate == VaultKey::kKeyCheck ? &new_key_check : nullptr));
  const std::shared_ptr<const KeyRing> ring = raised.keys->ring();
  const KeyRing& keys = *ring;
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
  std::unique_ptr<Vault> vault(
      new Vault(options, std::move(env), std::move(raised.keys),
                std::move(audit_key), std::move(fingerprint_key.key)));
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
    audit.reason =
        absl::StrCat("migrated from data format ", std::string(*pending),
                     " to ", kDataFormat, MigrationSteps(*pending));
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

Vault::Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env,
             std::unique_ptr<KeyStore> keys,
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
  catalog_ = std::make_unique<Catalog>(options_, *env_, *keys_, *audit_,
                                       fingerprint_key_, *identity_);
  downloads_ =
      std::make_unique<DownloadIndex>(options_, *env_, *audit_, *identity_);
  tracer_ =
      std::make_unique<Tracer>(options_, *env_, *keys_, *audit_, *audit_key_,
                               fingerprint_key_, *identity_, *downloads_);
  key_rotation_ =
      std::make_unique<KeyRotation>(*env_, *keys_, *audit_, options_.clock);
  return absl::OkStatus();
}

}  // namespace mv
