// StorageBarrier: seals every stored value outside the chunk store, as
// HashiCorp Vault's barrier does (DESIGN §3, issue [security] item 3). A
// value edited, moved to another key or database, or taken from another
// vault fails to open, and the server never acts on it.
//
// clang-format off
//   layout 2 (kLayout, data format 4: the keyring):
//   sealed value = u8 2 ‖ u32 key_version ‖ nonce[24] ‖ ciphertext ‖ tag[16]
//   AD           = "mvbarrier" ‖ u8 2 ‖ vault_id[16] ‖ u32 key_version
//                  ‖ u8 len(database) ‖ database ‖ key
//   key          = the barrier key of keyring version key_version
//                  (crypto/key_ring.h)
//   layout 1 (kLegacyLayout, data formats 2 and 3; opened only by the
//   migration to format 4):
//   sealed value = u8 1 ‖ nonce[24] ‖ ciphertext ‖ tag[16]
//   AD           = "mvbarrier" ‖ u8 1 ‖ vault_id[16]
//                  ‖ u8 len(database) ‖ database ‖ key
//   key          = crypto_kdf_derive_from_key(KEK, id 1, context "mvbarier")
// clang-format on
//
// XChaCha20-Poly1305-IETF (crypto/aead.h). Values are sealed under the
// keyring's current version; a rotation reseals them (vault/key_rotation.h).
// The vault id is 16 random bytes made when the vault is created (or migrated),
// kept in clear in meta so that two vaults under one master key still cannot
// swap records. Keys stay in clear (LMDB orders and prefix-scans them);
// docs/SECURITY.md says what that reveals.
//
// What is not sealed (Seals() is false): the `chunks` database, whose
// values are already AEAD-sealed under each version's data key with the
// version id and chunk index as associated data (crypto/chunk_cipher.h),
// and in `meta` the key check value and the vault id, which are read
// before the barrier can be built (the check value is itself keyed by the
// master key, so it cannot be forged without it).
//
// Thread safety: const methods may run concurrently; the keyring is read
// from the holder once per call, so a rotation swaps it safely.
#ifndef MODELVAULT_STORAGE_BARRIER_H_
#define MODELVAULT_STORAGE_BARRIER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/key_ring_holder.h"
#include "crypto/secret_key.h"

namespace mv {

class StorageBarrier {
 public:
  static constexpr uint8_t kLayout = 2, kLegacyLayout = 1;
  static constexpr size_t kVaultIdSize = 16;
  static constexpr size_t kOverhead = 1 + 4 + Aead::kOverhead;
  static constexpr size_t kLegacyOverhead = 1 + Aead::kOverhead;
  // The meta keys that stay in clear.
  static constexpr std::string_view kVaultIdKey = "vault_id";
  static constexpr std::string_view kKeyCheckKey = "kcv";

  // Seals under the keyring `keys` holds. INVALID_ARGUMENT unless vault_id
  // has kVaultIdSize bytes.
  static absl::StatusOr<std::unique_ptr<StorageBarrier>> New(
      std::shared_ptr<const KeyRingHolder> keys, std::string_view vault_id);
  // The layout-1 barrier of data formats 2 and 3, keyed from the master key:
  // it seals and opens layout 1 only (the migrations).
  static absl::StatusOr<std::unique_ptr<StorageBarrier>> NewLegacy(
      const SecretKey& kek, std::string_view vault_id);
  // Both: opens layout 1 and 2, seals layout 2 (the migration to format 4).
  static absl::StatusOr<std::unique_ptr<StorageBarrier>> NewMigrating(
      const SecretKey& kek, std::shared_ptr<const KeyRingHolder> keys,
      std::string_view vault_id);

  // The keyring version a sealed value is under; 0 for layout 1 or a value
  // too short to be sealed.
  static uint32_t KeyVersionOf(std::string_view sealed);

  // False for the values listed above, which are stored as they are.
  bool Seals(std::string_view database, std::string_view key) const;
  // Replaces *out with the sealed form of `value` stored at (database, key).
  void Seal(std::string_view database, std::string_view key,
            std::string_view value, std::string* out) const;
  // Replaces *out with the value, or DATA_LOSS naming the record:
  // "stored record versions/\"acme/x\\000...\" fails to authenticate
  // (edited, moved, or from another vault)".
  absl::Status Open(std::string_view database, std::string_view key,
                    std::string_view sealed, std::string* out) const;

 private:
  StorageBarrier(std::unique_ptr<Aead> legacy,
                 std::shared_ptr<const KeyRingHolder> keys,
                 std::string vault_id)
      : legacy_(std::move(legacy)),
        keys_(std::move(keys)),
        vault_id_(std::move(vault_id)) {}
  std::string AssociatedData(uint8_t layout, uint32_t key_version,
                             std::string_view database,
                             std::string_view key) const;
  bool OpenLegacy(std::string_view database, std::string_view key,
                  std::string_view sealed, std::string* out) const;

  const std::unique_ptr<Aead> legacy_;               // layout 1, or null
  const std::shared_ptr<const KeyRingHolder> keys_;  // layout 2, or null
  const std::string vault_id_;
};

}  // namespace mv

#endif  // MODELVAULT_STORAGE_BARRIER_H_
