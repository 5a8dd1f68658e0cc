// KeyRing: the vault's internal keyring (DESIGN §4, issue [keys]), as
// HashiCorp Vault keeps one: numbered versions of a 32-byte root key. The
// master key protects only the keyring (storage/key_file.h); every other
// key comes from a keyring version v:
//
//   barrier key     = crypto_kdf(K_v, id 1, "mvbarier")  storage/barrier.h
//   data-key wrap   = crypto_kdf(K_v, id 2, "mvdekwrp")  a version's DEK
//   named-key wrap  = crypto_kdf(K_v, id 3, "mvnamed_")  the token key, the
//                                    audit signing seed, K_fp (vault_keys.h)
//
// New writes use current(), the newest version. A rotation builds the next
// keyring (WithNewVersion); once nothing is protected by an old version it is
// retired (Without) and its key no longer exists anywhere.
//
// Encoded form (plaintext; only ever stored sealed under the master key),
// integers big-endian:
//   u8 layout (kLayout = 1) ‖ u32 n ‖ n × (u32 version ‖ i64 created_unix_ms
//   ‖ key[32]), versions strictly increasing; the last is current.
//
// Wrapped data key:  Aead(data-key wrap of v).Seal(DEK,
//                      AD = "dek" ‖ u64 version_id ‖ u32 v)
// Stored named key:  u32 v ‖ Aead(named-key wrap of v).Seal(key,
//                      AD = "key:" ‖ name ‖ 0x00 ‖ u32 v)
//
// Immutable: thread-safe; share it as std::shared_ptr<const KeyRing>.
#ifndef MODELVAULT_CRYPTO_KEY_RING_H_
#define MODELVAULT_CRYPTO_KEY_RING_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/secret_key.h"

namespace mv {

class KeyRing {
 public:
  static constexpr uint8_t kLayout = 1;
  static constexpr size_t kWrappedKeySize = SecretKey::kSize + Aead::kOverhead;

  struct VersionInfo {
    uint32_t version = 0;
    int64_t created_unix_ms = 0;
  };

  // A keyring of one fresh version (1).
  static absl::StatusOr<std::unique_ptr<const KeyRing>> Create(
      int64_t now_unix_ms);
  // DATA_LOSS if `encoded` is not a keyring of this layout.
  static absl::StatusOr<std::unique_ptr<const KeyRing>> Decode(
      std::span<const uint8_t> encoded);
  // The encoded form. It holds every key in clear: the caller seals it and
  // wipes it (sodium_memzero).
  std::string Encode() const;

  // This keyring plus a fresh version current()+1, made at `now`.
  absl::StatusOr<std::unique_ptr<const KeyRing>> WithNewVersion(
      int64_t now_unix_ms) const;
  // This keyring without `version`. FAILED_PRECONDITION for current().
  absl::StatusOr<std::unique_ptr<const KeyRing>> Without(
      uint32_t version) const;

  uint32_t current() const;
  bool Has(uint32_t version) const { return Find(version) != nullptr; }
  std::vector<VersionInfo> versions() const;

  // Wraps `dek` of `version_id` under current(); returns the wrapped bytes
  // (kWrappedKeySize).
  std::string WrapDataKey(uint64_t version_id, const SecretKey& dek) const;
  // DATA_LOSS if `key_version` is not in the ring or the bytes do not open.
  absl::StatusOr<SecretKey> UnwrapDataKey(uint64_t version_id,
                                          uint32_t key_version,
                                          std::string_view wrapped) const;

  // The stored form of a named vault-wide key under current().
  std::string WrapNamedKey(std::string_view name, const SecretKey& key) const;
  // DATA_LOSS if it does not open (unknown version, edited, other name).
  absl::StatusOr<SecretKey> UnwrapNamedKey(std::string_view name,
                                           std::string_view stored) const;
  // The keyring version a stored named key is under (0 if malformed).
  static uint32_t NamedKeyVersion(std::string_view stored);

  // The barrier key of `version`, or nullptr if the ring lacks it.
  const Aead* BarrierKey(uint32_t version) const;

 private:
  struct Version;
  explicit KeyRing(std::vector<std::shared_ptr<const Version>> versions)
      : versions_(std::move(versions)) {}
  static absl::StatusOr<std::shared_ptr<const Version>> MakeVersion(
      uint32_t number, int64_t created, std::span<const uint8_t> root);
  const Version* Find(uint32_t version) const;
  const Version& Current() const { return *versions_.back(); }

  // Sorted by number, never empty. Versions are shared between successive
  // keyrings (a rotation copies no key).
  std::vector<std::shared_ptr<const Version>> versions_;
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_KEY_RING_H_
