// The audit log's JSON-lines export and its offline verifier (DESIGN.md §6).
// Stable format for SIEM ingestion; one JSON object per line, in log order:
//
//   {"type":"record","v":1,"sequence":7,"time_unix_ms":1700000000000,
//    "principal":"alice","token_accessor":"…","peer":"ipv4:10.0.0.1:5000",
//    "tls_identity":"","method":"/modelvault.v1.ArtifactService/Download",
//    "resource":"org/model@3","action":"read","decision":"allowed",
//    "status_code":0,"bytes":1048576,"request_id":"…",
//    "download_id":"00000000000000ab","reason":"",
//    "prev":"<64 hex>","hash":"<64 hex>"}
//   {"type":"record","v":2, ... as above ...,"reason":"",
//    "delivery":"fingerprinted","delivered_sha256":"<64 hex>",
//    "prev":"<64 hex>","hash":"<64 hex>"}
//   {"type":"checkpoint","v":1,"sequence":7,"head":"<64 hex>",
//    "time_unix_ms":1700000000000,"signature":"<128 hex>"}
//   {"type":"export_end","v":1,"from":1,"sequence":7,"head":"<64 hex>",
//    "time_unix_ms":1700000000000,"signature":"<128 hex>"}
//
// A server export ends with one export_end line (checkpoint.h ExportEnd),
// signed at export time, naming the first and last record it holds.
//
// "v" is the record's layout (audit_record.h): 1, or 2 for a download
// record with "delivery" and/or "delivered_sha256" (lowercase hex SHA-256 of
// the bytes delivered), which are present exactly when non-empty. Every
// other field is always present. Strings are the record's UTF-8 fields as
// is; integers are JSON integers; download_id is 16 lowercase hex digits
// ("0000000000000000" = none) because SIEMs parse JSON numbers as doubles;
// decision is allowed|denied|unauthenticated|failed; status_code is the
// gRPC/absl code number. hash = BLAKE2b-256(prev ‖ canonical record) (see
// audit_record.h); a checkpoint line follows the record it covers.
//
// Thread safety: pure functions, thread-safe.
#ifndef MODELVAULT_AUDIT_AUDIT_EXPORT_H_
#define MODELVAULT_AUDIT_AUDIT_EXPORT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_record.h"
#include "audit/checkpoint.h"

namespace mv {

// One line, without the trailing newline. REQUIRES: IsCanonical(r).ok(),
// prev and hash 32 bytes.
std::string RecordToJsonLine(const AuditRecord& r, std::string_view prev,
                             std::string_view hash);
std::string CheckpointToJsonLine(const Checkpoint& c,
                                 std::string_view signature);
std::string ExportEndToJsonLine(const ExportEnd& e, std::string_view signature);

// A parsed line: a record, a checkpoint, or an export's end (`checkpoint`
// is then the end's `through`).
struct ExportLine {
  bool is_record = false;
  bool is_export_end = false;
  AuditRecord record;
  std::string prev, hash;  // 32 bytes each (records)
  Checkpoint checkpoint;
  uint64_t from = 0;      // export ends
  std::string signature;  // 64 bytes (checkpoints, export ends)
};
// DATA_LOSS naming the problem: not JSON, unknown type, a missing, extra or
// mistyped field, bad hex, a string that is not canonical.
absl::StatusOr<ExportLine> ParseExportLine(std::string_view line);

struct VerifyOptions {
  // Require the first record to be sequence 1 with the genesis prev.
  bool from_genesis = false;
  // Fail if records follow the last checkpoint. A server export always ends
  // with a checkpoint (AuditService.Export), so an unsigned tail means
  // someone truncated it (and dropped the last checkpoint with the cut).
  bool require_signed_tail = false;
  // Fail unless the export ends with its signed export_end line naming its
  // first and last record, so that it cannot have been cut at either end
  // (an export by a server before 2026-12 has none: export again).
  bool require_export_end = false;
  // The checkpoints of the vault's witness (audit/witness.h ParseWitness),
  // or nullptr. Every one inside the export's range must match the export's
  // chain (the same history the vault's witness received).
  const std::vector<Checkpoint>* witness = nullptr;
};

struct VerifyResult {
  bool ok = false;
  uint64_t records = 0;
  uint64_t checkpoints = 0;
  uint64_t unsigned_tail = 0;  // records after the last checkpoint
  // The span the records cover (when ok): sequences and record times.
  uint64_t first_sequence = 0, last_sequence = 0;
  int64_t first_time_unix_ms = 0, last_time_unix_ms = 0;
  // The chain hash the first record follows and the last record's: an
  // archive chains into the next export when the next's first_prev is its
  // last_hash (32 bytes each).
  std::string first_prev, last_hash;
  uint64_t witness_checkpoints = 0;  // witness lines matched, with a witness
  int64_t exported_unix_ms = 0;      // the export_end's time; 0 = none
  uint64_t witness_beyond = 0;  // the witness's newest checkpoint, if later
  size_t bad_line = 0;          // 1-based; 0 when ok
  uint64_t bad_sequence = 0;    // the record or checkpoint sequence, if known
  std::string reason;
  // "ok: N records, M checkpoints" [+ unsigned tail note] + "; sequences
  // A-B, T1 to T2" (UTC, RFC 3339) [+ "; exported T"] [+ "; witness: W
  // checkpoints agree" [+ a note if it goes on]], or "line L (sequence S):
  // reason" ("sequence S: reason" for the export as a whole).
  std::string Summary() const;
};

// Verifies an export (whole text, '\n'-separated; a final newline is
// optional) against `public_key` (32 raw bytes): the chain from the first
// record (whose "prev" is taken as given), contiguous sequences, every
// checkpoint's signature and head. Stops at the first problem and names its
// line: the bad record itself, or for a re-hashed chain (where the hashes
// cannot tell which record changed) the first record after the last
// checkpoint that still verifies.
VerifyResult VerifyExport(std::string_view text, std::string_view public_key,
                          const VerifyOptions& options = {});

}  // namespace mv

#endif  // MODELVAULT_AUDIT_AUDIT_EXPORT_H_
