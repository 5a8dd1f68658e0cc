// DownloadIndex: one entry per download of a version (db `downloads`),
// written with the download's budget charge and its "download started"
// audit record, read by tracing (vault/tracer.h) and by a resumed range
// request that must name one of its principal's own downloads. Layout in
// download_index.cc.
//
// Thread safety: a DownloadIndex is thread-safe; it holds no state of its
// own beyond LMDB (LmdbEnv's transactions).
#ifndef MODELVAULT_VAULT_DOWNLOAD_INDEX_H_
#define MODELVAULT_VAULT_DOWNLOAD_INDEX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "access/policy.h"
#include "audit/audit_log.h"
#include "storage/lmdb_env.h"
#include "vault/artifact_io.h"
#include "vault/identity.h"
#include "vault/vault_options.h"

namespace mv {

class IdentityStore;

// One download in the index: what tracing scores and what a resumed range
// request must match.
struct DownloadRecord {
  uint64_t serial = 0;  // VersionInfo::serial
  uint64_t download_id = 0;
  std::string principal;
  int64_t started_unix_ms = 0;
  std::string peer;  // as in the audit record
  Delivery delivery = Delivery::kUnmarked;
  uint64_t audit_sequence = 0;   // the "download started" record (0 = none)
  std::string delivered_sha256;  // 32 raw bytes once a whole-file delivery
                                 // completed (FinishDownload), else ""
  bool operator==(const DownloadRecord&) const = default;
};

class DownloadIndex {
 public:
  // Everything given outlives the index; `identity` charges the budgets.
  DownloadIndex(const VaultOptions& options, LmdbEnv& env, AuditLog& audit,
                const IdentityStore& identity);

  // Charges the download to the budgets of the rules that allowed it
  // (IdentityStore::ChargeDownload) and records `download` in the index, in
  // one transaction with the "download started" record (whose sequence it
  // stores). A record already indexed under the same (serial, download_id)
  // — a resumed or parallel range — is left as is. `exact` (an exact pull's
  // read:exact decision) is charged too, in the same transaction: its
  // budgets count exact pulls.
  absl::Status StartDownload(const Principal& who, const Decision& decision,
                             uint64_t bytes, const DownloadRecord& download,
                             const AuditRecord* audit,
                             const Decision* exact = nullptr);
  // NOT_FOUND unless the index holds (serial, download_id).
  absl::StatusOr<DownloadRecord> FindDownload(uint64_t serial,
                                              uint64_t download_id) const;
  // Every indexed download of version `serial`, by download id.
  absl::StatusOr<std::vector<DownloadRecord>> ListDownloads(
      uint64_t serial) const;
  // Appends the download's outcome record and, for a whole-file delivery
  // (`delivered_sha256` non-empty), stores the digest in its index entry;
  // one transaction. UNAVAILABLE (fail closed) if it cannot be written.
  absl::Status FinishDownload(uint64_t serial, uint64_t download_id,
                              std::string_view delivered_sha256,
                              const AuditRecord* audit);

 private:
  const VaultOptions& options_;
  LmdbEnv* const env_;
  AuditLog* const audit_;
  const IdentityStore* const identity_;
};

// ---- Record encoding (pure functions) ----
// serial u64 BE ‖ download_id u64 BE: a version's downloads are contiguous.
std::string DownloadKey(uint64_t serial, uint64_t download_id);
// The value of `r` (its serial and download id live in the key).
std::string EncodeDownload(const DownloadRecord& r);
// DATA_LOSS for a malformed key or value; FAILED_PRECONDITION for a newer
// layout.
absl::StatusOr<DownloadRecord> DecodeDownload(std::string_view key,
                                              std::string_view value);

}  // namespace mv

#endif  // MODELVAULT_VAULT_DOWNLOAD_INDEX_H_
