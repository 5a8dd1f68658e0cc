#include "crypto/secret_key.h"

#include <sodium.h>

#include <cstring>

namespace mv {

absl::StatusOr<uint8_t*> SecretKey::Allocate() {
  if (sodium_init() < 0)
    return absl::InternalError("libsodium failed to initialise");
  auto* bytes = static_cast<uint8_t*>(sodium_malloc(kSize));
  if (bytes == nullptr)
    return absl::ResourceExhaustedError(
        "cannot allocate secure memory for a key");
  // mlock can fail under RLIMIT_MEMLOCK; sodium_malloc memory is still
  // guard-paged and wiped, so carry on rather than refuse to run.
  (void)sodium_mlock(bytes, kSize);
  return bytes;
}

absl::StatusOr<SecretKey> SecretKey::Random() {
  auto bytes = Allocate();
  if (!bytes.ok()) return bytes.status();
  randombytes_buf(*bytes, kSize);
  return SecretKey(*bytes);
}

absl::StatusOr<SecretKey> SecretKey::FromBytes(std::span<const uint8_t> in) {
  if (in.size() != kSize) {
    return absl::InvalidArgumentError("a key must be exactly 32 bytes");
  }
  auto bytes = Allocate();
  if (!bytes.ok()) return bytes.status();
  std::memcpy(*bytes, in.data(), kSize);
  return SecretKey(*bytes);
}

SecretKey::SecretKey(SecretKey&& other) noexcept : bytes_(other.bytes_) {
  other.bytes_ = nullptr;
}

SecretKey& SecretKey::operator=(SecretKey&& other) noexcept {
  if (this != &other) {
    if (bytes_ != nullptr) sodium_free(bytes_);
    bytes_ = other.bytes_;
    other.bytes_ = nullptr;
  }
  return *this;
}

SecretKey::~SecretKey() {
  // sodium_free wipes the memory before releasing it.
  if (bytes_ != nullptr) sodium_free(bytes_);
}

}  // namespace mv
