// The records the vault keeps in LMDB, their keys and their encodings.
//
// Databases and keys (all integers in keys are big-endian so byte order is
// numeric order). Every value is sealed by the storage barrier
// (storage/barrier.h) except chunks (under their version's DEK) and meta's
// "kcv" and "vault_id"; docs/ARCHITECTURE.md ("Storage layout") has the
// whole table.
// clang-format off
//   meta             "format" → u64 (3) ; "kcv" → 32-byte key check value ;
//                    "vault_id" → 16 bytes ; "next_version_id" → u64 ;
//                    "token_key", "audit_signing_key", "fingerprint_key"
//                    → KEK-wrapped keys
//   versions         name ‖ 0x00 ‖ number u64        → VersionRecord
//   artifacts        name                            → ArtifactRecord
//   chunks           version_id u64 ‖ index u64      → Aead-sealed chunk
//                                                      (crypto/chunk_cipher.h)
//   pending          version_id u64                  → PendingRecord
//   marks            version_id u64                  → sealed MVFP-1 mark table
//                                                      (vault/mark_store.h)
//   tokens           keyed BLAKE2b-256(token)        → TokenRecord
//   accessors        accessor (24 hex chars)         → the token's keyed hash
//   principals       name                            → PrincipalRecord
//   cert_identities  "uri:" SAN URI | "cn:" CN       → principal name
//   policies         name                            → canonical policy JSON
//                    (PolicyToJson(ParsePolicy(...)); "root" is built in,
//                    never stored)
//   budgets          principal ‖ 0x00 ‖ policy ‖ 0x00 ‖ rule u32 ‖ day u32
//                                                    → BudgetRecord
//                    (day = days since the Unix epoch, UTC; a principal's
//                    older days of a rule are pruned when that rule is
//                    charged)
// clang-format on
//
// Each encoded record starts with a u8 layout version; fields follow in the
// order listed in Encode*(). Layout 1 everywhere except VersionRecord
// (layout 2, with the FingerprintSummary) and TokenRecord, which is
// written as layout 2 (layout-1 tokens, from before identities, still decode:
// no policies, no expiry, unlimited uses). Secrets are never stored in clear:
// the DEK is wrapped by the KEK, tokens only as keyed hashes.
//
// Data format 1 vaults from before identities lack the identity databases;
// Vault::Open creates them and the root principal record when missing.
#ifndef MODELVAULT_VAULT_RECORDS_H_
#define MODELVAULT_VAULT_RECORDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "vault/identity.h"

namespace mv {

enum class Format : uint8_t { kBlob = 1, kSafetensors = 2, kGguf = 3 };
std::string_view FormatName(Format f);

// Leak tracing (LEAK_TRACING.md): what the vault decided at upload commit.
// Marked versions have a sealed mark table (vault/mark_store.h, db `marks`).
struct FingerprintSummary {
  uint32_t tardos_positions = 0;     // marked per download; 0 = unmarked
  uint32_t reference_positions = 0;  // unmarked samples kept for detection
  uint32_t tensors = 0;              // eligible tensors carrying marks
  std::string unmarked_reason;       // when unmarked, one line: why

  bool markable() const { return tardos_positions > 0; }
  bool operator==(const FingerprintSummary&) const = default;
};

// Unmarked reasons (FingerprintSummary::unmarked_reason).
inline constexpr char kUnmarkedBlob[] = "stored as a blob";
inline constexpr char kUnmarkedNoEligibleTensors[] =
    "no eligible tensors (F32/F16/BF16, >= 2 dims, >= 65,536 elements, name "
    "not excluded)";
inline constexpr char kUnmarkedNoPositions[] =
    "no weight of the eligible tensors can carry a mark (all zero, constant or "
    "non-finite)";
inline constexpr char kUnmarkedBeforeTracing[] = "uploaded before leak tracing";

// Layout 2 (written): layout 1 ‖ u32 tardos_positions ‖ u32
// reference_positions ‖ u32 tensors ‖ unmarked_reason. Layout-1 records
// (from before leak tracing) decode with kUnmarkedBeforeTracing.
struct VersionRecord {
  std::string name;
  uint64_t number = 0;
  uint64_t version_id = 0;  // global, never reused; keys chunks and AD
  uint64_t size = 0;
  std::string sha256;  // 32 raw bytes
  Format format = Format::kBlob;
  std::map<std::string, std::string> labels;
  std::string created_by;
  int64_t created_at_unix_ms = 0;
  uint32_t chunk_size = 0;
  uint64_t chunk_count = 0;
  // Data formats 1-3 kept the data key here, wrapped by the master key
  // (crypto/legacy_key_wrap.h); format 4 keeps it in the key file
  // (vault/key_store.h) and stores 0 and "" (the migration moves them).
  uint32_t key_version = 0;
  std::string wrapped_dek;
  FingerprintSummary fingerprint;

  // The byte length of chunk `index` (every chunk is full but the last).
  uint32_t ChunkLength(uint64_t index) const;
};

struct ArtifactRecord {
  uint64_t last_number = 0;  // numbers are never reused, even after rm
  std::map<std::string, uint64_t> aliases;
};

// An upload in flight, or chunks to free. A record whose last activity is
// the epoch (kDoomed) is being freed: no writer may add to or publish it.
struct PendingRecord {
  static constexpr int64_t kDoomed = 0;
  std::string name;
  int64_t last_active_unix_ms = kDoomed;
  bool doomed() const { return last_active_unix_ms == kDoomed; }
};

// Layout 2: u8 2 ‖ principal ‖ accessor ‖ created u64 ‖ u32 n ‖ n policies ‖
// expires u64 ‖ uses_left u64 (two's complement; -1 = unlimited).
// Layout 1 ended after `created`.
struct TokenRecord {
  std::string principal;
  std::string accessor;  // public id, safe to log
  int64_t created_at_unix_ms = 0;
  std::vector<std::string> policies;  // sorted; empty = the principal's
  int64_t expires_at_unix_ms = 0;     // 0 = never
  int64_t uses_left = -1;             // -1 = unlimited; 0 = exhausted
};

// u8 1 ‖ kind u8 ‖ u32 n ‖ n policies ‖ cert_identity ‖ created u64.
struct PrincipalRecord {
  PrincipalKind kind = PrincipalKind::kUser;
  std::vector<std::string> policies;  // sorted, unique
  std::string cert_identity;  // "uri:…" or "cn:…" (format 3); "" = none
  int64_t created_at_unix_ms = 0;
};

// u8 1 ‖ downloads u64 ‖ bytes u64: one principal's use of one budgeted
// rule on one UTC day.
struct BudgetRecord {
  uint64_t downloads = 0;
  uint64_t bytes = 0;
};

std::string EncodeVersion(const VersionRecord& r);
absl::StatusOr<VersionRecord> DecodeVersion(std::string_view in);
std::string EncodeArtifact(const ArtifactRecord& r);
absl::StatusOr<ArtifactRecord> DecodeArtifact(std::string_view in);
std::string EncodePending(const PendingRecord& r);
absl::StatusOr<PendingRecord> DecodePending(std::string_view in);
std::string EncodeToken(const TokenRecord& r);
absl::StatusOr<TokenRecord> DecodeToken(std::string_view in);
std::string EncodePrincipal(const PrincipalRecord& r);
absl::StatusOr<PrincipalRecord> DecodePrincipal(std::string_view in);
std::string EncodeBudget(const BudgetRecord& r);
absl::StatusOr<BudgetRecord> DecodeBudget(std::string_view in);

std::string VersionKey(std::string_view name, uint64_t number);
std::string VersionKeyPrefix(std::string_view name);  // name ‖ 0x00
std::string ChunkKey(uint64_t version_id, uint64_t index);
std::string IdKey(uint64_t version_id);
// principal ‖ 0x00 ‖ policy ‖ 0x00 ‖ rule u32 BE ‖ day u32 BE. A key without
// its last 4 bytes is the prefix of every day of that rule; principal ‖ 0x00
// the prefix of all of a principal's budgets.
std::string BudgetKey(std::string_view principal, std::string_view policy,
                      uint32_t rule, uint32_t day);

}  // namespace mv

#endif  // MODELVAULT_VAULT_RECORDS_H_
