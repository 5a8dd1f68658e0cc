// KeyRing: the master key (KEK) and what it protects. Every other key (data
// keys, the token hashing key, later the signing key) is stored wrapped by
// the KEK with XChaCha20-Poly1305; the associated data names the key's
// purpose and the KEK version, so a wrapped key cannot be moved to another
// slot. Rotating the KEK means rewrapping these, never the chunk data.
// Thread-safe: all methods are const.
#ifndef MODELVAULT_CRYPTO_KEY_RING_H_
#define MODELVAULT_CRYPTO_KEY_RING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/aead.h"

namespace mv {

class KeyRing {
 public:
  static constexpr uint32_t kCurrentKeyVersion = 1;

  explicit KeyRing(SecretKey kek) : kek_(std::move(kek)) {}

  // A version's data key: AD = "dek" ‖ version_id u64 BE ‖ key_version u32 BE.
  std::string WrapDataKey(uint64_t version_id, const SecretKey& dek) const;
  absl::StatusOr<SecretKey> UnwrapDataKey(uint64_t version_id,
                                          uint32_t key_version,
                                          std::string_view wrapped) const;

  // A named vault-wide key (e.g. "token"): AD = "key:" ‖ name ‖ 0x00 ‖
  // key_version u32 BE.
  std::string WrapNamedKey(std::string_view name, const SecretKey& key) const;
  absl::StatusOr<SecretKey> UnwrapNamedKey(std::string_view name,
                                           std::string_view wrapped) const;

 private:
  std::string Wrap(std::string_view ad, const SecretKey& key) const;
  absl::StatusOr<SecretKey> Unwrap(std::string_view ad,
                                   std::string_view wrapped) const;
  Aead kek_;
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_KEY_RING_H_
