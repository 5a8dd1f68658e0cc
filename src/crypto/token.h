// Bearer tokens: "mvt_" + base64url(32 random bytes), no padding (47 chars).
// Tokens are stored only as keyed BLAKE2b-256 hashes (TokenHasher); the
// plain token exists only in the caller's hands. Thread-safe.
#ifndef MODELVAULT_CRYPTO_TOKEN_H_
#define MODELVAULT_CRYPTO_TOKEN_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"

namespace mv {

inline constexpr std::string_view kTokenPrefix = "mvt_";
inline constexpr size_t kTokenLength = 47;

std::string GenerateToken();
// A short random public id for a token (hex), safe to log and revoke by.
std::string GenerateAccessor();

// Extracts the token from an `authorization` metadata value "Bearer <token>".
// Every failure (missing, wrong scheme, malformed token) yields the same
// UNAUTHENTICATED message so the response is no oracle.
absl::StatusOr<std::string_view> ParseBearer(std::string_view header);

// The one message for every authentication failure.
inline constexpr char kUnauthenticatedMessage[] =
    "missing, invalid or expired token";

class TokenHasher {
 public:
  explicit TokenHasher(SecretKey key) : key_(std::move(key)) {}
  // 32-byte keyed BLAKE2b of the token.
  std::string Hash(std::string_view token) const;

 private:
  SecretKey key_;
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_TOKEN_H_
