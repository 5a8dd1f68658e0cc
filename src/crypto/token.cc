#include "crypto/token.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "crypto/sha256.h"

namespace mv {

std::string GenerateToken() {
  uint8_t raw[32];
  randombytes_buf(raw, sizeof raw);
  char b64[sodium_base64_ENCODED_LEN(32,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  std::string token = std::string(kTokenPrefix) + b64;
  sodium_memzero(b64, sizeof b64);
  return token;
}

std::string GenerateAccessor() {
  uint8_t raw[12];
  randombytes_buf(raw, sizeof raw);
  return ToHex(raw);
}

absl::StatusOr<std::string_view> ParseBearer(std::string_view header) {
  static constexpr std::string_view kScheme = "Bearer ";
  auto fail = [] {
    return absl::UnauthenticatedError(kUnauthenticatedMessage);
  };
  if (!header.starts_with(kScheme)) return fail();
  std::string_view token = header.substr(kScheme.size());
  if (token.size() != kTokenLength || !token.starts_with(kTokenPrefix))
    return fail();
  for (char c : token.substr(kTokenPrefix.size())) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return fail();
  }
  return token;
}

std::string TokenHasher::Hash(std::string_view token) const {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(token.data()),
                     token.size(), key_.data(), SecretKey::kSize);
  return out;
}

}  // namespace mv
