// Catalog: the transaction-level operations on the vault's LMDB databases
// that several use cases share — resolving references, loading artifact
// records, and freeing the chunks of dead uploads and deleted versions.
// Functions are thread-safe in the sense of LmdbEnv (each runs in the
// transaction it is given or opens its own).
#ifndef MODELVAULT_VAULT_CATALOG_H_
#define MODELVAULT_VAULT_CATALOG_H_

#include "absl/status/statusor.h"
#include "storage/lmdb_env.h"
#include "vault/artifact_io.h"
#include "vault/records.h"
#include "vault/reference.h"

namespace mv {

struct Dbs {
  MDB_dbi meta, versions, artifacts, chunks, pending, tokens;
  MDB_dbi accessors, principals, cert_identities, policies,
      budgets;               // identity_store.cc
  MDB_dbi marks, downloads;  // leak tracing: mark_store.h, downloads.cc
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
