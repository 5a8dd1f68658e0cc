// SecretKey: a 32-byte key in sodium_malloc'd, mlock'ed (where allowed),
// guard-paged memory that is wiped on destruction. Move-only. Not
// thread-safe for mutation; const access from many threads is fine.
#ifndef MODELVAULT_CRYPTO_SECRET_KEY_H_
#define MODELVAULT_CRYPTO_SECRET_KEY_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace mv {

class SecretKey {
 public:
  static constexpr size_t kSize = 32;

  // A fresh key from the OS CSPRNG.
  static absl::StatusOr<SecretKey> Random();
  // Copies exactly kSize bytes; any other length is INVALID_ARGUMENT.
  static absl::StatusOr<SecretKey> FromBytes(std::span<const uint8_t> bytes);

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey();

  const uint8_t* data() const { return bytes_; }
  std::span<const uint8_t> span() const { return {bytes_, kSize}; }

 private:
  explicit SecretKey(uint8_t* bytes) : bytes_(bytes) {}
  static absl::StatusOr<uint8_t*> Allocate();
  uint8_t* bytes_;  // owned, sodium_malloc'd; null after a move
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_SECRET_KEY_H_
