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
#include "vault/catalog.h"
#include "vault/identity_store.h"
#include "vault/vault.h"

namespace mv {
namespace {

constexpr std::string_view kFormatKey = "format";
constexpr std::string_view kKeyCheckKey = "kcv";
constexpr std::string_view kNextVersionIdKey = "next_version_id";
constexpr std::string_view kTokenKeyKey = "token_key";
// The audit checkpoint-signing seed, wrapped by the KEK.
constexpr std::string_view kAuditKeyKey = "audit_signing_key";
// K_fp, the MVFP-1 fingerprint master key (trace/keys.h), wrapped by the KEK.
constexpr std::string_view kFingerprintKeyKey = "fingerprint_key";

// The KEK-wrapped named key `name` from meta, created (32 random bytes)
// if the vault predates it.
absl::StatusOr<SecretKey> LoadOrCreateNamedKey(LmdbEnv& env, const Dbs& dbs,
                                               const KeyRing& keys,
                                               std::string_view name) {
  std::optional<std::string> wrapped;
  MV_RETURN_IF_ERROR(env.Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.meta, name));
    if (raw) wrapped = std::string(*raw);
    return absl::OkStatus();
  }));
  if (!wrapped) {
    MV_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
    wrapped = keys.WrapNamedKey(name, key);
    MV_RETURN_IF_ERROR(env.Write([&](WriteTxn& txn) -> absl::Status {
      MV_ASSIGN_OR_RETURN(auto raced, txn.Get(dbs.meta, name));
      if (raced) {
        wrapped = std::string(*raced);
        return absl::OkStatus();
      }
      return txn.Put(dbs.meta, name, *wrapped);
    }));
  }
  return keys.UnwrapNamedKey(name, *wrapped);
}

// The vault's audit signing key; a vault from before the audit log gets one
// now (its log starts empty).
absl::StatusOr<std::unique_ptr<AuditSigningKey>> LoadAuditKey(
    LmdbEnv& env, const Dbs& dbs, const KeyRing& keys) {
  MV_ASSIGN_OR_RETURN(SecretKey seed,
                      LoadOrCreateNamedKey(env, dbs, keys, kAuditKeyKey));
  return AuditSigningKey::FromSeed(seed);
}

std::string DataFile(const std::string& dir) { return dir + "/data.mdb"; }

absl::Status CheckMeta(const Txn& txn, const Dbs& dbs,
                       const VaultOptions& options, const SecretKey& kek) {
  MV_ASSIGN_OR_RETURN(auto format, txn.Get(dbs.meta, kFormatKey));
  if (!format || format->size() != 8) {
    return absl::FailedPreconditionError(
        absl::StrCat(options.data_dir,
                     " is not an initialised vault; run: modelvaultd init"));
  }
  uint64_t version =
      GetBigEndian64(reinterpret_cast<const uint8_t*>(format->data()));
  if (version != Vault::kDataFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "data dir ", options.data_dir, " has format ", version,
        "; this modelvaultd supports format ", Vault::kDataFormat));
  }
  MV_ASSIGN_OR_RETURN(auto kcv, txn.Get(dbs.meta, kKeyCheckKey));
  std::string expected = KeyCheckValue(kek);
  if (!kcv || kcv->size() != expected.size() ||
      sodium_memcmp(kcv->data(), expected.data(), expected.size()) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("wrong master key for ", options.data_dir,
                     " (key check value mismatch)"));
  }
  return absl::OkStatus();
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
  const std::string kcv = KeyCheckValue(kek);
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
  if (!Exists(options.data_dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat("no vault in ", options.data_dir,
                     "; run: modelvaultd init --data-dir ", options.data_dir));
  }
  MV_ASSIGN_OR_RETURN(std::unique_ptr<LmdbEnv> env, OpenEnv(options));
  const Dbs dbs = Dbs::Of(*env);
  std::string wrapped_token_key;
  MV_RETURN_IF_ERROR(env->Read([&](const Txn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(CheckMeta(txn, dbs, options, kek));
    MV_ASSIGN_OR_RETURN(auto wrapped, txn.Get(dbs.meta, kTokenKeyKey));
    if (!wrapped)
      return absl::DataLossError("vault metadata lacks the token key");
    wrapped_token_key = std::string(*wrapped);
    return absl::OkStatus();
  }));
  KeyRing keys(std::move(kek));
  MV_ASSIGN_OR_RETURN(SecretKey token_key,
                      keys.UnwrapNamedKey(kTokenKeyKey, wrapped_token_key));
  MV_ASSIGN_OR_RETURN(std::unique_ptr<AuditSigningKey> audit_key,
                      LoadAuditKey(*env, dbs, keys));
  // A vault from before leak tracing gets its K_fp now.
  MV_ASSIGN_OR_RETURN(
      SecretKey fingerprint_key,
      LoadOrCreateNamedKey(*env, dbs, keys, kFingerprintKeyKey));
  std::unique_ptr<Vault> vault(
      new Vault(options, std::move(env), std::move(keys),
                TokenHasher(std::move(token_key)), std::move(audit_key),
                std::move(fingerprint_key)));
  AuditLog::Options audit_options = options.audit;
  audit_options.clock = options.clock;
  MV_ASSIGN_OR_RETURN(vault->audit_,
                      AuditLog::Open(vault->env_.get(), vault->audit_key_.get(),
                                     std::move(audit_options)));
  MV_RETURN_IF_ERROR(vault->LoadIdentity());
  // No upload survives a restart: every pending one is abandoned.
  if (options.collect_pending_on_open) {
    MV_RETURN_IF_ERROR(vault->CollectGarbage(absl::ZeroDuration()).status());
  }
  return vault;
}

Vault::Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env, KeyRing keys,
             TokenHasher tokens, std::unique_ptr<AuditSigningKey> audit_key,
             SecretKey fingerprint_key)
    : options_(std::move(options)),
      env_(std::move(env)),
      keys_(std::move(keys)),
      tokens_(std::move(tokens)),
      audit_key_(std::move(audit_key)),
      fingerprint_key_(std::move(fingerprint_key)) {}

}  // namespace mv
