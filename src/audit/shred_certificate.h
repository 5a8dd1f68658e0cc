// Shred certificates (issue [keys], crypto-shredding with proof): what
// `mvault rm` returns once a version's data key is destroyed, signed with
// the vault's Ed25519 audit key so anyone holding its public key
// (`mvault admin audit pubkey`) can check it offline.
//
// The certificate is compact JSON with sorted keys (nlohmann's dump of an
// object), e.g.
//   {"audit_sequence":42,"data_key":"destroyed","deleted_at_unix_ms":1765…,
//    "format":1,"kind":"modelvault shred certificate","principal":"root",
//    "sha256":"<64 hex>","size":1048576,"version":"acme/llm@3",
//    "version_id":17}
// `audit_sequence` is the delete's own record in the audit log, which
// commits in the same transaction that removes the version.
//
// Signature = Ed25519(kSignContext ‖ certificate bytes): the context keeps
// a certificate from being taken for a leak report or a checkpoint signed
// by the same key.
//
// File form (`mvault rm --certificate FILE`):
//   {"certificate": {…as above…}, "signature": "<128 hex>"}
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_AUDIT_SHRED_CERTIFICATE_H_
#define MODELVAULT_AUDIT_SHRED_CERTIFICATE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "audit/checkpoint.h"

namespace mv {

inline constexpr std::string_view kShredSignContext =
    "modelvault shred certificate v1\n";

struct ShredFacts {
  std::string version;  // "NAME@N"
  uint64_t version_id = 0;
  std::string sha256_hex;
  uint64_t size = 0;
  int64_t deleted_at_unix_ms = 0;
  std::string principal;
  uint64_t audit_sequence = 0;
};

struct ShredCertificate {
  std::string json;       // the certificate's exact bytes
  std::string signature;  // 64 bytes
};

ShredCertificate SignShredCertificate(const AuditSigningKey& key,
                                      const ShredFacts& facts);

// The file form of `certificate`.
std::string ShredCertificateFile(const ShredCertificate& certificate);

// Checks a certificate file against `public_key` (32 bytes): OK with the
// facts it certifies; INVALID_ARGUMENT if it is not a certificate file;
// DATA_LOSS if the signature does not verify (edited, or another vault's).
absl::StatusOr<ShredFacts> VerifyShredCertificateFile(
    std::string_view file_text, std::string_view public_key);

}  // namespace mv

#endif  // MODELVAULT_AUDIT_SHRED_CERTIFICATE_H_
