// Checkpoint: a signed statement "the audit chain's head at `sequence` is
// `head`", and the Ed25519 key that signs it (DESIGN.md §6).
//
// Canonical checkpoint layout (integers big-endian):
//   u8  layout (= kCheckpointLayoutVersion)
//   u64 sequence            (the last record covered)
//   u8  head[32]            (that record's chain hash)
//   i64 time_unix_ms
// Signed message: kCheckpointSignContext ‖ canonical bytes (the context
// keeps a checkpoint signature from meaning anything else).
//
// ExportEnd: the signed last line of an export, made at export time: "this
// export holds records `from`..`through.sequence`, the head is
// `through.head`". Signed message: kExportEndSignContext ‖ u64 from ‖
// canonical checkpoint bytes of `through`. It is never stored, so a copy of
// the log cut at an earlier point can only end with an ordinary checkpoint.
// Stored/exported signature: 64-byte Ed25519 detached signature.
//
// The signing key is an Ed25519 seed[32], which the vault stores wrapped
// by the master key like its other keys (crypto/key_ring.h, named key
// "audit_signing"). Public key text: "modelvault-audit-ed25519 " ‖
// base64(pk[32]) (standard alphabet, padded) ‖ optional "\n".
//
// Thread safety: AuditSigningKey is immutable after creation; const methods
// may be called from any thread. Free functions are thread-safe.
#ifndef MODELVAULT_AUDIT_CHECKPOINT_H_
#define MODELVAULT_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"

namespace mv {

inline constexpr uint8_t kCheckpointLayoutVersion = 1;
inline constexpr size_t kSignatureSize = 64;
inline constexpr size_t kPublicKeySize = 32;
inline constexpr std::string_view kCheckpointSignContext =
    "modelvault audit checkpoint v1";
inline constexpr std::string_view kExportEndSignContext =
    "modelvault audit export end v1";
inline constexpr std::string_view kPublicKeyPrefix =
    "modelvault-audit-ed25519 ";

struct Checkpoint {
  uint64_t sequence = 0;
  std::string head;  // 32 bytes
  int64_t time_unix_ms = 0;
  bool operator==(const Checkpoint&) const = default;
};

struct ExportEnd {
  uint64_t from = 0;   // the export's first record
  Checkpoint through;  // its last record, and the time of the export
  bool operator==(const ExportEnd&) const = default;
};

// REQUIRES: c.head.size() == 32.
std::string EncodeCheckpoint(const Checkpoint& c);
// DATA_LOSS for malformed input, FAILED_PRECONDITION for a newer layout.
absl::StatusOr<Checkpoint> DecodeCheckpoint(std::string_view in);

// DATA_LOSS "bad checkpoint signature" unless `signature` is `public_key`'s
// signature of `c`. INVALID_ARGUMENT for a key or signature of wrong size.
absl::Status VerifyCheckpoint(const Checkpoint& c, std::string_view signature,
                              std::string_view public_key);
// The same for an export's end ("bad export end signature").
absl::Status VerifyExportEnd(const ExportEnd& e, std::string_view signature,
                             std::string_view public_key);

// Public key text format (see above).
std::string FormatPublicKey(std::string_view public_key);
// INVALID_ARGUMENT unless `text` is exactly the format above.
absl::StatusOr<std::string> ParsePublicKey(std::string_view text);

class AuditSigningKey {
 public:
  // A fresh key from the OS CSPRNG.
  static absl::StatusOr<std::unique_ptr<AuditSigningKey>> Generate();
  // The key of a 32-byte seed (SecretKey::Random() makes a fresh one).
  static absl::StatusOr<std::unique_ptr<AuditSigningKey>> FromSeed(
      const SecretKey& seed);
  ~AuditSigningKey();
  AuditSigningKey(const AuditSigningKey&) = delete;
  AuditSigningKey& operator=(const AuditSigningKey&) = delete;

  // 64-byte signature of `c`. REQUIRES: c.head.size() == 32.
  std::string Sign(const Checkpoint& c) const;
  std::string Sign(const ExportEnd& e) const;
  // 64-byte Ed25519 signature of `message` as is (no context prefix; used
  // for documents that cannot be mistaken for kCheckpointSignContext ‖ …,
  // such as a JSON leak report, which starts with '{').
  std::string SignBytes(std::string_view message) const;
  const std::string& public_key() const { return public_key_; }

 private:
  AuditSigningKey(uint8_t* secret, std::string public_key)
      : secret_(secret), public_key_(std::move(public_key)) {}
  static absl::StatusOr<std::unique_ptr<AuditSigningKey>> FromSeedBytes(
      const uint8_t* seed);
  uint8_t* secret_;  // owned, sodium_malloc'd crypto_sign_SECRETKEYBYTES
  std::string public_key_;
};

}  // namespace mv

#endif  // MODELVAULT_AUDIT_CHECKPOINT_H_
