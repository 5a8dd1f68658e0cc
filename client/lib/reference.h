// Artifact names and references as users type them (DESIGN §2):
//   NAME, NAME@latest  latest version
//   NAME@7             version number 7 (no leading zeros)
//   NAME@prod          alias: 1-64 of [a-z0-9._-] starting with a letter;
//                      "latest" is reserved
//   NAME@sha256:HEX    by SHA-256 of the plaintext (64 hex digits)
// NAME is 1-4 lowercase segments [a-z0-9][a-z0-9._-]{0,63} joined by '/',
// at most 200 bytes, never containing "..".
//
// These mirror the server's rules and messages (src/vault/reference.cc; the
// client cannot link the core). The server validates again; checking here
// gives the same message before any network traffic, as a usage error.
// Pure functions; thread-safe.
#ifndef MODELVAULT_CLIENT_LIB_REFERENCE_H_
#define MODELVAULT_CLIENT_LIB_REFERENCE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mvclient {

struct Reference {
  enum class Kind { kLatest, kVersion, kAlias, kDigest };

  std::string name;
  Kind kind = Kind::kLatest;
  uint64_t version = 0;    // kVersion only
  std::string alias;       // kAlias only
  std::string sha256_hex;  // kDigest only, lowercased

  // The canonical text form, e.g. "acme/llama@7".
  std::string ToString() const;
};

// OkStatus() or InvalidArgumentError naming the rule that was broken.
absl::Status ValidateName(absl::string_view name);

// OkStatus() or InvalidArgumentError.
absl::Status ValidateAlias(absl::string_view alias);

// Parses any of the reference forms above; InvalidArgumentError otherwise.
absl::StatusOr<Reference> ParseReference(absl::string_view text);

// `s` in double quotes for an error message: at most 80 bytes, control and
// non-ASCII bytes shown as '?', so hostile input cannot forge output lines.
std::string QuoteForMessage(absl::string_view s);

// The file a pull writes when no destination is given: "./" + the last name
// segment ("acme/llama-3-8b@prod" -> "./llama-3-8b").
std::string DefaultDestination(const Reference& ref);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_REFERENCE_H_
