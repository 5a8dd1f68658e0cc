// AuditRecord: one audited RPC outcome, its canonical byte encoding and the
// hash chain over those bytes (DESIGN.md §6). Pure functions; thread-safe.
//
// Canonical layout (integers big-endian, str = u32 BE length ‖ UTF-8
// bytes, at most kMaxFieldSize bytes):
//
//   u8  layout (kAuditLayoutVersion = 1, or kAuditDeliveryLayoutVersion = 2)
//   u64 sequence            (1 = first record; 0 is never stored)
//   i64 time_unix_ms        (two's complement)
//   u8  decision            (AuditDecision, 1..4)
//   u32 status_code         (absl::StatusCode, 0..16)
//   u64 bytes               (payload bytes moved)
//   u64 download_id         (0 = none)
//   str principal, token_accessor, peer, tls_identity, method, resource,
//       action, request_id, reason        (in this order)
//   layout 2 only:
//   str delivery            "unmarked" | "fingerprinted" | "exact" | ""
//   str delivered_sha256    64 lowercase hex digits | ""
//
// The encoding is canonical: one record has exactly one encoding, and the
// decoder accepts only that (no trailing bytes, valid UTF-8, known enums),
// so the JSON export (audit_export.h) can rebuild it byte for byte. In
// particular a record is written as layout 1 when delivery and
// delivered_sha256 are both empty and as layout 2 otherwise, and the decoder
// rejects a layout-2 record whose two delivery fields are both empty.
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
inline constexpr uint8_t kAuditDeliveryLayoutVersion = 2;  // the newest
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
  // The verified client certificate's identity that authenticated
  // ("uri:…" or "cn:…"); before that, all of them, space-separated; or "".
  std::string tls_identity;
  std::string method;    // e.g. "/modelvault.v1.ArtifactService/Download"
  std::string resource;  // "NAME@N", or "" when none
  std::string action;    // "read", "write", ... or ""
  AuditDecision decision = AuditDecision::kFailed;
  uint32_t status_code = 0;  // absl::StatusCode numeric value
  uint64_t bytes = 0;
  std::string request_id;
  uint64_t download_id = 0;  // 0 = none
  std::string reason;        // for denials: the rule or reason
  // Downloads (layout 2, LEAK_TRACING.md): "unmarked" | "fingerprinted" |
  // "exact", and on a whole download's outcome the lowercase hex SHA-256
  // of the bytes delivered. Both "" otherwise.
  std::string delivery;
  std::string delivered_sha256;

  bool operator==(const AuditRecord&) const = default;
};

// A download id as users see it everywhere (CLI, reports, exports, errors):
// 16 lowercase hex digits.
std::string DownloadIdHex(uint64_t id);

// The canonical bytes. REQUIRES: IsCanonical(r).ok() (see SanitizeAuditRecord).
std::string EncodeAuditRecord(const AuditRecord& r);
// DATA_LOSS naming the first problem for malformed input; FAILED_PRECONDITION
// for a layout newer than this binary understands.
absl::StatusOr<AuditRecord> DecodeAuditRecord(std::string_view in);

// The layout EncodeAuditRecord writes for `r`: 2 iff a delivery field is set.
uint8_t AuditLayoutOf(const AuditRecord& r);

// OK if every string field is valid UTF-8 of at most kMaxFieldSize bytes,
// the enums are in range, delivery is a known name or "" and
// delivered_sha256 is 64 lowercase hex digits or ""; otherwise
// INVALID_ARGUMENT naming the field.
absl::Status IsCanonical(const AuditRecord& r);
// Replaces invalid UTF-8 with U+FFFD and truncates over-long fields (at a
// character boundary), and clears a delivery field that is not of its form,
// so that any request can be audited. Idempotent.
void SanitizeAuditRecord(AuditRecord* r);
bool IsValidUtf8(std::string_view s);

// 32 zero bytes: the "previous hash" of sequence 1.
std::string GenesisHash();
// BLAKE2b-256(prev ‖ canonical). REQUIRES: prev.size() == kAuditHashSize.
std::string ChainHash(std::string_view prev, std::string_view canonical);

}  // namespace mv

#endif  // MODELVAULT_AUDIT_AUDIT_RECORD_H_
