// Tracer: who leaked a file (LEAK_TRACING.md, "Detection"). Tier 0 by hash
// (an original version or a recorded whole-file delivery), else the version
// the leak came from, whose fingerprinted downloads are voted and scored;
// every candidate it names is checked against its audit record first. It
// also signs the report with the audit key.
//
// Thread safety: a Tracer is thread-safe; it only reads (LMDB read
// transactions, the downloads index, the immutable keys).
#ifndef MODELVAULT_VAULT_TRACER_H_
#define MODELVAULT_VAULT_TRACER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "vault/key_store.h"
#include "crypto/secret_key.h"
#include "storage/lmdb_env.h"
#include "trace/detect.h"
#include "trace/leak_file.h"
#include "vault/download_index.h"
#include "vault/identity.h"
#include "vault/records.h"
#include "vault/vault_options.h"

namespace mv {

class IdentityStore;

// A candidate download of a trace, with what the index says about it.
struct TracedDownload {
  CandidateScore score;
  DownloadRecord download;
};

// Tracer::TraceLeak's findings (LEAK_TRACING.md, "Detection").
struct LeakReport {
  std::string leak_sha256;  // 32 raw bytes
  uint64_t leak_size = 0;
  std::string artifact;            // "NAME@N" traced against
  FingerprintSummary fingerprint;  // that version's (its table's sizes)
  // How the version was found: "as told", "exact copy of the original",
  // "exact copy of download <hex id>" (tier 0), "tensor names and shapes",
  // "tensor contents" (nothing matched by name, values or a known rewrite:
  // found by alignment, trace/align.h).
  std::string matched_by;
  Verdict verdict = Verdict::kNone;
  TraceResult result;  // mode, votes, decoys, abstention
  std::vector<TracedDownload>
      candidates;               // every attributed/suspect one plus the
                                // top 10 by Z, sorted by Z descending
  size_t downloads_scored = 0;  // J: logged downloads of the version
  // Tier 0 "exact copy of the original" only: the version's unmarked and
  // exact downloads (any of which may be the source), else 0.
  size_t original_downloads = 0;
  struct TensorFinding {
    std::string name;
    uint64_t positions = 0;  // Tardos positions of this tensor in the table
    uint64_t present = 0;    // of which the leak has
    TraceMode mode = TraceMode::kNoData;
    TensorMatch match = {};  // where the leak holds it, and what was undone
  };
  std::vector<TensorFinding> tensors;
  int64_t generated_unix_ms = 0;
};

// Which artifacts a trace may look at (Tracer::ScopeFor).
struct TraceScope {
  std::function<bool(std::string_view artifact_name)> allows;
};

class Tracer {
 public:
  // Everything given outlives the tracer.
  Tracer(const VaultOptions& options, const LmdbEnv& env, const KeyStore& keys,
         const AuditLog& audit, const AuditSigningKey& audit_key,
         const SecretKey& fingerprint_key, const IdentityStore& identity,
         const DownloadIndex& downloads);

  // Traces a suspected leak, read by range (trace/leak_file.h; the server
  // spools it sealed, trace/sealed_spool.h): tier 0 by hash (an original
  // version or a recorded whole-file delivery), else against `artifact_ref`
  // ("" = find the version whose mark table's tensor names and shapes the
  // leak has, preferring the one whose reference values it matches best;
  // if none, the same with tensors aligned by content, reading the stored
  // plaintext of each version with a tensor of a shape the leak has).
  // Table tensors not found by name, values or a known rewrite are aligned
  // by content against the version's plaintext (trace/align.h).
  // Every tier considers only versions of artifacts `scope` allows, so a
  // match outside it is the same NOT_FOUND "no stored version matches this
  // file" as no match. NOT_FOUND if no markable version matches,
  // INVALID_ARGUMENT if the file is neither safetensors nor GGUF (unless
  // tier 0 matched), DATA_LOSS if the file cannot be read back as it was
  // received.
  absl::StatusOr<LeakReport> TraceLeak(const LeakFile& leak,
                                       std::string_view artifact_ref,
                                       const TraceScope& scope,
                                       const DetectOptions& options = {}) const;
  // The same for a leak held in memory.
  absl::StatusOr<LeakReport> TraceLeak(std::string_view leak,
                                       std::string_view artifact_ref,
                                       const TraceScope& scope,
                                       const DetectOptions& options = {}) const;
  // The artifacts `who`, calling from `peer_ip`, may trace (Authorize with
  // action trace); only `only_artifact` when that is not empty.
  TraceScope TraceScopeFor(const Principal& who, std::string peer_ip,
                           std::string only_artifact) const;
  // Ed25519 signature of `bytes` with the audit signing key (64 bytes), and
  // that key's public half (as AuditLog checkpoints use).
  std::string SignWithAuditKey(std::string_view bytes) const;
  const std::string& audit_public_key() const;

 private:
  const VaultOptions& options_;
  const LmdbEnv* const env_;
  const KeyStore& keys_;
  const AuditLog* const audit_;
  const AuditSigningKey& audit_key_;
  const SecretKey& fingerprint_key_;
  const IdentityStore* const identity_;
  const DownloadIndex* const downloads_;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_TRACER_H_
