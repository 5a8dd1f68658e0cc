// LegacyKeyWrap: how data formats 1-3 wrapped keys, directly under the
// master key (KEK) with XChaCha20-Poly1305; the associated data names the
// key's purpose and key version 1. Format 4 keeps every key in the keyring
// (crypto/key_ring.h); this is only read by the migration to it
// (vault/keyring_migration.cc) and written by tests that lower a vault.
// Thread-safe: all methods are const.
#ifndef MODELVAULT_CRYPTO_LEGACY_KEY_WRAP_H_
#define MODELVAULT_CRYPTO_LEGACY_KEY_WRAP_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/aead.h"

namespace mv {

class LegacyKeyWrap {
 public:
  static constexpr uint32_t kKeyVersion = 1;

  explicit LegacyKeyWrap(SecretKey kek) : kek_(std::move(kek)) {}

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

#endif  // MODELVAULT_CRYPTO_LEGACY_KEY_WRAP_H_
