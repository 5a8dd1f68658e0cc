// Vault: one model vault on one data directory. It opens the LMDB
// environment behind the storage barrier, loads the vault-wide keys, opens
// the audit log, and wires the four parts every use case goes through:
//
//   identity()   IdentityStore  principals, tokens, policies, authorization,
//                               budgets (vault/identity_store.h)
//   catalog()    Catalog        versions: upload, download, list, alias,
//                               delete, collect (vault/catalog.h)
//   downloads()  DownloadIndex  who downloaded which version, for tracing
//                               and resumed ranges (vault/download_index.h)
//   tracer()     Tracer         leak tracing and report signing
//                               (vault/tracer.h)
//
// Lifecycle (init, open, migration, offline recovery) is in
// vault_lifecycle.cc; the use cases that span parts are here too:
// PlanDownload (download_plan.cc) and Verify (verify.cc).
//
// Audit: every mutating use case takes the audit record of the request it
// serves (`audit`, nullptr = none) and appends it in the mutation's own
// write transaction (vault/audit_append.h), so the change and its record
// commit together or not at all: if the record cannot be written, nothing
// changes and the call fails UNAVAILABLE (fail closed). The caller fills the
// record as for a successful outcome (decision allowed, status OK); the
// vault assigns sequence and time. Records of requests that change nothing
// go through audit_log().Commit().
//
// Thread safety: a Vault and each of its parts are thread-safe (each part
// states its contract); the parts live as long as the Vault.
#ifndef MODELVAULT_VAULT_VAULT_H_
#define MODELVAULT_VAULT_VAULT_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "audit/shred_certificate.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/download_index.h"
#include "vault/download_plan.h"
#include "vault/identity_store.h"
#include "vault/key_rotation.h"
#include "vault/key_store.h"
#include "vault/tracer.h"
#include "vault/vault_options.h"

namespace mv {

// What Vault::Verify found. `problems` is empty when everything is whole.
struct VerifyReport {
  uint64_t versions = 0, chunks = 0, bytes = 0;
  uint64_t audit_records = 0;
  std::vector<std::string> problems;  // one line each, naming the version
};

class Vault {
 public:
  // 2: every value behind the storage barrier (storage/barrier.h); 3: every
  // certificate identity names its kind ("uri:…", "cn:…"); 4: every key in
  // the keyring, stored with the data keys in the key file
  // (vault/key_store.h). Older vaults are migrated by Open, step by step,
  // when VaultOptions::migrate (vault/vault_migration.h).
  static constexpr uint32_t kDataFormat = 4;

  // True if `data_dir` already holds a vault (or any LMDB data file).
  static bool Exists(const std::string& data_dir);
  // Creates the data dir (mode 0700) and a new vault keyed by `kek`; returns
  // the root token, which is stored only as a keyed hash. ALREADY_EXISTS if
  // a vault is there (nothing is changed).
  static absl::StatusOr<std::string> Init(const VaultOptions& options,
                                          SecretKey kek);
  // Opens an initialised vault. FAILED_PRECONDITION for a wrong key, an
  // unknown future format or a directory that is not a vault; collects every
  // pending upload left by a previous process.
  static absl::StatusOr<std::unique_ptr<Vault>> Open(
      const VaultOptions& options, SecretKey kek);

  // Offline recovery (`modelvaultd root-token`): issues a new root token for
  // a closed vault. The caller must hold the data dir (no server running).
  static absl::StatusOr<std::string> IssueRootToken(const VaultOptions& options,
                                                    SecretKey kek);
  // Offline recovery (`modelvaultd regenerate-key`): replaces `key` of a
  // closed vault when it is missing from meta or does not open, in one write
  // transaction with its audit record; FAILED_PRECONDITION if it is intact.
  // kFingerprint: copies delivered before can no longer be traced. kToken:
  // every token is deleted (their hashes were keyed by the lost key) and a
  // new root token is issued and returned. kKeyCheck: nothing is lost (Open
  // proves the master key by opening the sealed format record). Returns ""
  // unless a root token was issued.
  static absl::StatusOr<std::string> RegenerateKey(const VaultOptions& options,
                                                   SecretKey kek, VaultKey key);

  // Offline rekey (`modelvaultd rekey`): the keyring is sealed under
  // `new_master` instead of `old_master`, in three steps whose commit point
  // is the key check value (one LMDB transaction, with its audit record):
  // the new keyring generation is written and synced, the check value
  // committed, then the old generation erased. A crash at any point leaves
  // a vault that exactly one of the two keys opens. FAILED_PRECONDITION if
  // the new key is the vault's key already. REQUIRES: no server running.
  static absl::Status Rekey(const VaultOptions& options, SecretKey old_master,
                            SecretKey new_master);

  IdentityStore& identity() const { return *identity_; }
  Catalog& catalog() const { return *catalog_; }
  DownloadIndex& downloads() const { return *downloads_; }
  const Tracer& tracer() const { return *tracer_; }
  AuditLog& audit_log() const { return *audit_; }
  // Online key rotation (vault/key_rotation.h).
  KeyRotation& key_rotation() const { return *key_rotation_; }

  // How `who`, calling from `peer_ip` and already admitted for `read` (the
  // `admitted` decision, taken as MarksWanted says), gets `ask`
  // (vault/download_plan.cc): read:exact decided for an exact pull, the
  // version resolved only then, the delivery chosen under `mode`, and the
  // download id new or checked to be the caller's own download of that
  // version. PERMISSION_DENIED, NOT_FOUND or INVALID_ARGUMENT naming why.
  absl::StatusOr<DownloadPlan> PlanDownload(const Principal& who,
                                            std::string_view peer_ip,
                                            FingerprintMode mode,
                                            const DownloadAsk& ask,
                                            Decision admitted) const;

  // `mvault rm` (Catalog::ShredVersion) and its shred certificate, signed
  // with the audit key (audit/shred_certificate.h). `audit` is required:
  // the certificate names its record.
  struct Shredded {
    VersionInfo deleted;
    ShredCertificate certificate;
  };
  absl::StatusOr<Shredded> ShredVersion(std::string_view ref,
                                        const AuditRecord& audit) const;

  // Reads back every chunk of every version (authenticating and hashing it)
  // and cross-checks the catalog: digests, chunk counts, aliases and
  // chunks that belong to no version or pending upload; then verifies the
  // audit chain and its checkpoint signatures. Read-only.
  absl::StatusOr<VerifyReport> Verify() const;

  const VaultOptions& options() const { return options_; }
  // True if Open migrated this vault from an older data format.
  bool migrated_on_open() const { return migrated_on_open_; }

 private:
  Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env,
        std::unique_ptr<KeyStore> keys,
        std::unique_ptr<AuditSigningKey> audit_key, SecretKey fingerprint_key);
  // Opens the audit log and wires the parts.
  absl::Status Assemble(TokenHasher tokens);
  static absl::StatusOr<std::unique_ptr<LmdbEnv>> OpenEnv(
      const VaultOptions& options);
  // Open, replacing `regenerate` (if any) as RegenerateKey describes.
  static absl::StatusOr<std::unique_ptr<Vault>> OpenAndRegenerate(
      const VaultOptions& options, SecretKey kek,
      std::optional<VaultKey> regenerate);
  // Writes the audit record of a migration not yet recorded (meta
  // "migration_unrecorded"); returns whether there was one.
  absl::StatusOr<bool> RecordMigration();
  // Stores a regenerated key (`meta_writes`: meta name → value) with its
  // audit record in one transaction; a new token key deletes every token.
  absl::Status StoreRegeneratedKey(
      VaultKey key,
      const std::vector<std::pair<std::string_view, std::string>>& meta_writes);

  // Declared in the order they are built; destroyed in reverse, so the
  // parts go first and the audit log closes before the environment.
  const VaultOptions options_;
  std::unique_ptr<LmdbEnv> env_;
  const std::unique_ptr<KeyStore> keys_;
  const std::unique_ptr<AuditSigningKey> audit_key_;
  const SecretKey fingerprint_key_;  // K_fp (meta "fingerprint_key")
  bool migrated_on_open_ = false;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<IdentityStore> identity_;
  std::unique_ptr<Catalog> catalog_;
  std::unique_ptr<DownloadIndex> downloads_;
  std::unique_ptr<Tracer> tracer_;
  std::unique_ptr<KeyRotation> key_rotation_;  // first to stop
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_H_
