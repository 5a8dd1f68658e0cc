// Artifact names and references (DESIGN §2), validated at every entry point.
//
//   NAME       1–4 segments [a-z0-9][a-z0-9._-]{0,63} joined by '/', ≤ 200
//              bytes, never containing "..".
//   REF        NAME | NAME@N | NAME@alias | NAME@latest | NAME@sha256:<64 hex>
//   alias      [a-z][a-z0-9._-]{0,63}, not "latest" (reserved)
//
// Pure functions; thread-safe.
#ifndef MODELVAULT_VAULT_REFERENCE_H_
#define MODELVAULT_VAULT_REFERENCE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mv {

struct Reference {
  enum class Kind { kLatest, kNumber, kAlias, kDigest };
  std::string name;
  Kind kind = Kind::kLatest;
  uint64_t number = 0;  // kNumber
  std::string alias;    // kAlias
  std::string digest;   // kDigest: 32 raw bytes

  std::string ToString() const;
};

// INVALID_ARGUMENT naming the defect, or OK.
absl::Status ValidateName(std::string_view name);
absl::Status ValidateAlias(std::string_view alias);
// Label keys: 1–64 printable ASCII bytes other than space and '='; values
// ≤ 1024 bytes.
absl::Status ValidateLabel(std::string_view key, std::string_view value);
absl::StatusOr<Reference> ParseReference(std::string_view ref);

}  // namespace mv

#endif  // MODELVAULT_VAULT_REFERENCE_H_
