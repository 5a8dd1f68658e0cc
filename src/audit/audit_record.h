// AuditRecord: one audited RPC outcome, its canonical byte encoding and the
// hash chain over those bytes (DESIGN.md §6). Pure functions; thread-safe.
//
// Canonical layout (layout version 1; integers big-endian, str = u32 BE
// length ‖ UTF-8 bytes, at most kMaxFieldSize bytes):
//
//   u8  layout (= kAuditLayoutVersion)
//   u64 sequence            (1 = first record; 0 is never stored)
//   i64 time_unix_ms        (two's complement)
//   u8  decision            (AuditDecision, 1..4)
//   u32 status_code         (absl::StatusCode, 0..16)
//   u64 bytes               (payload bytes moved)
//   u64 download_id         (0 = none)
//   str principal, token_accessor, peer, tls_identity, method, resource,
//       action, request_id, reason        (in this order)
//
// The encoding is canonical: one record has exactly one encoding, and the
// decoder accepts only that (no trailing bytes, valid UTF-8, known enums),
// so the JSON export (audit_export.h) can rebuild it byte for byte.
//
// Chain: hash(n) = BLAKE2b-256(hash(n-1) ‖ canonical(n)); hash(0) = 32 zero
// bytes (kGenesisHash).
#ifndef MODELVAULT_AUDIT_AUDIT_RECORD_H_
#define MODELVAULT_AUDIT_AUDIT_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mv {

inline constexpr uint8_t kAuditLayoutVersion = 1;
inline constexpr size_t kAuditHashSize = 32;
inline constexpr size_t kMaxFieldSize = 4096;

enum class AuditDecision : uint8_t {
  kAllowed = 1,
  kDenied = 2,
  kUnauthenticated = 3,
  kFailed = 4,
};
// "allowed", "denied", "unauthenticated", "failed".
std::string_view DecisionName(AuditDecision d);
// The inverse of DecisionName; nullopt for anything else.
std::optional<AuditDecision> ParseDecision(std::string_view name);

struct AuditRecord {
  uint64_t sequence = 0;  // assigned by AuditLog
  int64_t time_unix_ms = 0;
  std::string principal;       // "" when unauthenticated
  std::string token_accessor;  // never the token itself
  std::string peer;            // e.g. "ipv4:10.0.0.1:5000"
  std::string tls_identity;    // verified client cert identity, or ""
  std::string method;          // e.g. "/modelvault.v1.ArtifactService/Download"
  std::string resource;        // "NAME@N", or "" when none
  std::string action;          // "read", "write", ... or ""
  AuditDecision decision = AuditDecision::kFailed;
  uint32_t status_code = 0;  // absl::StatusCode numeric value
  uint64_t bytes = 0;
  std::string request_id;
  uint64_t download_id = 0;  // 0 = none
  std::string reason;        // for denials: the rule or reason

  bool operator==(const AuditRecord&) const = default;
};

// The canonical bytes. REQUIRES: IsCanonical(r).ok() (see SanitizeAuditRecord).
std::string EncodeAuditRecord(const AuditRecord& r);
// DATA_LOSS naming the first problem for malformed input; FAILED_PRECONDITION
// for a layout newer than this binary understands.
absl::StatusOr<AuditRecord> DecodeAuditRecord(std::string_view in);

// OK if every string field is valid UTF-8 of at most kMaxFieldSize bytes and
// the enums are in range; otherwise INVALID_ARGUMENT naming the field.
absl::Status IsCanonical(const AuditRecord& r);
// Replaces invalid UTF-8 with U+FFFD and truncates over-long fields (at a
// character boundary), so that any request can be audited. Idempotent.
void SanitizeAuditRecord(AuditRecord* r);
bool IsValidUtf8(std::string_view s);

// 32 zero bytes: the "previous hash" of sequence 1.
std::string GenesisHash();
// BLAKE2b-256(prev ‖ canonical). REQUIRES: prev.size() == kAuditHashSize.
std::string ChainHash(std::string_view prev, std::string_view canonical);

}  // namespace mv

#endif  // MODELVAULT_AUDIT_AUDIT_RECORD_H_
