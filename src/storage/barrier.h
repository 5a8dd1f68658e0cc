// StorageBarrier: seals every stored value outside the chunk store, as
// HashiCorp Vault's barrier does (DESIGN §3, issue [security] item 3). A
// value edited, moved to another key or database, or taken from another
// vault fails to open, and the server never acts on it.
//
// clang-format off
//   sealed value = u8 layout (kLayout = 1) ‖ nonce[24] ‖ ciphertext ‖ tag[16]
//   AD           = "mvbarrier" ‖ u8 layout ‖ vault_id[16]
//                  ‖ u8 len(database) ‖ database ‖ key
//   key          = crypto_kdf_derive_from_key(KEK, id 1, context "mvbarier")
// clang-format on
//
// XChaCha20-Poly1305-IETF (crypto/aead.h). The vault id is 16 random bytes
// made when the vault is created (or migrated), kept in clear in meta so
// that two vaults under one master key still cannot swap records. Keys stay
// in clear (LMDB orders and prefix-scans them); docs/SECURITY.md says what
// that reveals.
//
// What is not sealed (Seals() is false): the `chunks` database, whose
// values are already AEAD-sealed under each version's data key with the
// version id and chunk index as associated data (crypto/chunk_cipher.h),
// and in `meta` the key check value and the vault id, which are read
// before the barrier can be built (the check value is itself keyed by the
// master key, so it cannot be forged without it).
//
// Thread safety: immutable; const methods may run concurrently.
#ifndef MODELVAULT_STORAGE_BARRIER_H_
#define MODELVAULT_STORAGE_BARRIER_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/secret_key.h"

namespace mv {

class StorageBarrier {
 public:
  static constexpr uint8_t kLayout = 1;
  static constexpr size_t kVaultIdSize = 16;
  static constexpr size_t kOverhead = 1 + Aead::kOverhead;
  // The meta keys that stay in clear.
  static constexpr std::string_view kVaultIdKey = "vault_id";
  static constexpr std::string_view kKeyCheckKey = "kcv";

  // INVALID_ARGUMENT unless vault_id has kVaultIdSize bytes.
  static absl::StatusOr<std::unique_ptr<StorageBarrier>> New(
      const SecretKey& kek, std::string_view vault_id);

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
  StorageBarrier(SecretKey key, std::string vault_id)
      : aead_(std::move(key)), vault_id_(std::move(vault_id)) {}
  std::string AssociatedData(std::string_view database,
                             std::string_view key) const;

  Aead aead_;
  std::string vault_id_;
};

}  // namespace mv

#endif  // MODELVAULT_STORAGE_BARRIER_H_
