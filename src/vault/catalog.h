// Catalog: the model versions a vault holds. Uploads and downloads
// (encrypted chunk streams, vault/upload.h and vault/download.h), versions
// and aliases, listing, crypto-shredding deletion and garbage collection.
// Below the class: the vault's databases (Dbs) and the transaction-level
// helpers several parts share — resolving references, loading artifact
// records, freeing the chunks of dead uploads and deleted versions.
//
// Thread safety: a Catalog is thread-safe; its state is in LMDB (each call
// runs in transactions of its own, LmdbEnv's contract) apart from the
// header-memory budget, which is itself thread-safe. An ArtifactWriter or
// ArtifactReader is used by one thread at a time.
#ifndef MODELVAULT_VAULT_CATALOG_H_
#define MODELVAULT_VAULT_CATALOG_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "access/policy.h"
#include "audit/audit_log.h"
#include "common/memory_budget.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "vault/artifact_io.h"
#include "vault/chunk_reclaimer.h"
#include "vault/key_store.h"
#include "vault/records.h"
#include "vault/reference.h"
#include "vault/vault_options.h"

namespace mv {

class IdentityStore;

struct VersionPage {
  std::vector<VersionInfo> versions;
  std::string next_page_token;  // "" = no more
};

class Catalog {
 public:
  // Everything given outlives the catalog. `fingerprint_key` (K_fp) marks
  // fingerprinted deliveries; `identity` filters what a caller may list.
  Catalog(const VaultOptions& options, LmdbEnv& env, KeyStore& keys,
          AuditLog& audit, const SecretKey& fingerprint_key,
          const IdentityStore& identity);

  // A writer for a new version of spec.name by `who`; it publishes (with its
  // audit record) when finished.
  absl::StatusOr<std::unique_ptr<ArtifactWriter>> BeginUpload(
      const UploadSpec& spec, const Principal& who);
  // length 0 = to the end. OUT_OF_RANGE if the range exceeds the version.
  // `delivery` says whether to mark (DeliveryOptions); a fingerprinted
  // reader applies the version's marks for delivery.download_id while it
  // streams (trace/embed.h), identically for any range.
  absl::StatusOr<std::unique_ptr<ArtifactReader>> OpenDownload(
      std::string_view ref, uint64_t offset, uint64_t length,
      const DeliveryOptions& delivery = {}) const;

  absl::StatusOr<VersionInfo> GetVersion(std::string_view ref) const;
  // `prefix` is a plain name prefix; page_size 0 → 100, capped at 1000.
  absl::StatusOr<VersionPage> ListVersions(std::string_view prefix,
                                           uint32_t page_size,
                                           std::string_view page_token) const;
  // The same, only the versions `who` (calling from `peer_address`) may
  // list. Scans only the ranges of the catalog its list rules reach
  // (access/list_prefixes.h), so a caller who may list little costs little;
  // within them each name is checked (IdentityStore::MayList). Page tokens
  // are ListVersions'.
  absl::StatusOr<VersionPage> ListVersionsFor(
      const Principal& who, std::string_view peer_address,
      std::string_view prefix, uint32_t page_size,
      std::string_view page_token) const;
  // Crypto-shredding: one transaction removes the version and appends
  // `audit` (if any); then its data key is zeroed in the key file (synced)
  // before this returns, and its chunks are freed in the background
  // (vault/chunk_reclaimer.h). A crash between leaves the doomed pending
  // record, and the next open's collection shreds and frees. Mutations
  // append `audit` in their own transaction (vault/vault.h, "Audit").
  struct Deletion {
    VersionInfo info;
    uint64_t audit_sequence = 0;  // 0 when no record was given
    int64_t time_unix_ms = 0;
    std::string principal;
  };
  absl::StatusOr<Deletion> ShredVersion(std::string_view ref,
                                        const AuditRecord* audit = nullptr);
  absl::StatusOr<VersionInfo> DeleteVersion(std::string_view ref,
                                            const AuditRecord* audit = nullptr);
  // Blocks until the chunks of every deleted version are freed; returns
  // the reclaimer's last error ("" if none).
  std::string WaitForReclaim() { return reclaimer_->WaitIdle(); }
  absl::StatusOr<VersionInfo> SetAlias(std::string_view ref,
                                       std::string_view alias,
                                       const AuditRecord* audit = nullptr);
  absl::Status DeleteAlias(std::string_view name, std::string_view alias,
                           const AuditRecord* audit = nullptr);

  // Frees the chunks of uploads idle longer than `idle` and of deleted
  // versions. Returns how many uploads/versions were collected.
  absl::StatusOr<size_t> CollectGarbage(absl::Duration idle);

 private:
  const VaultOptions& options_;
  LmdbEnv* const env_;
  // ToInfo with the keyring version the data key is under now.
  VersionInfo InfoOf(const VersionRecord& version,
                     const ArtifactRecord& artifact) const;

  KeyStore& keys_;
  AuditLog* const audit_;
  const SecretKey& fingerprint_key_;
  const IdentityStore* const identity_;
  // Shared with every upload's reservation: a writer may outlive the
  // catalog.
  const std::shared_ptr<MemoryBudget> header_budget_;
  const std::unique_ptr<ChunkReclaimer> reclaimer_;
};

// ---- The vault's databases and record-level helpers ----

struct Dbs {
  MDB_dbi meta, versions, artifacts, chunks, pending, tokens;
  MDB_dbi accessors, principals, cert_identities, policies,
      budgets;               // identity_store.cc
  MDB_dbi marks, downloads;  // leak tracing: mark_store.h, download_index.h
  static Dbs Of(const LmdbEnv& env);
  static constexpr std::initializer_list<const char*> kNames = {
      "meta", "versions", "artifacts", "chunks", "pending", "tokens",
      "accessors", "principals", "cert_identities", "policies", "budgets",
      "marks", "downloads",
      // The audit log's own databases (audit/audit_log.h), same env so an
      // upload publishes and audits in one transaction.
      "audit", "audit_checkpoints", "audit_meta"};
};

// NOT_FOUND naming the reference if no version matches.
absl::StatusOr<VersionRecord> Resolve(const Txn& txn, const Dbs& dbs,
                                      const Reference& ref);
// An empty record if the artifact has never been published.
absl::StatusOr<ArtifactRecord> LoadArtifact(const Txn& txn, const Dbs& dbs,
                                            std::string_view name);
VersionInfo ToInfo(const VersionRecord& version,
                   const ArtifactRecord& artifact);

// Deletes every chunk of `version_id` in short write transactions, then its
// pending record. Safe to repeat after a crash.
absl::Status FreeChunks(LmdbEnv& env, const Dbs& dbs, uint64_t version_id);

}  // namespace mv

#endif  // MODELVAULT_VAULT_CATALOG_H_
