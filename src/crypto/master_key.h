// The master key (KEK) file and its key check value.
//
// Key file: exactly 32 raw bytes, mode 0600 (no group/other permission bits).
// Key check value (stored in meta): BLAKE2b-256 keyed with the KEK over a
// fixed label; it proves a key is the right one without revealing it.
// Thread-safe (pure functions over the filesystem).
#ifndef MODELVAULT_CRYPTO_MASTER_KEY_H_
#define MODELVAULT_CRYPTO_MASTER_KEY_H_

#include <string>

#include "absl/status/statusor.h"
#include "crypto/secret_key.h"

namespace mv {

// Loads the KEK. FAILED_PRECONDITION if the file is readable or writable by
// group/others, INVALID_ARGUMENT if it is not exactly 32 bytes, NOT_FOUND if
// it does not exist.
absl::StatusOr<SecretKey> LoadMasterKeyFile(const std::string& path);

// Creates `path` (O_EXCL, mode 0600) holding 32 fresh random bytes and
// returns the key. ALREADY_EXISTS if the file exists.
absl::StatusOr<SecretKey> CreateMasterKeyFile(const std::string& path);

// The key check value stored in meta "kcv": BLAKE2b-256 keyed by the KEK
// over "modelvault key check value v1" (format-1 vaults), or over "...v2"
// followed by the vault id (vaults behind the storage barrier). A vault
// that has been migrated holds no v1 value, and one cannot be made without
// the key, so a format-1 vault cannot be faked to make the migration
// re-seal records an attacker wrote.
std::string KeyCheckValue(const SecretKey& kek);
std::string KeyCheckValue(const SecretKey& kek, std::string_view vault_id);

// Derives an independent subkey (crypto_kdf) for a purpose named by an
// 8-character context, e.g. "mvtoken_".
absl::StatusOr<SecretKey> DeriveSubkey(const SecretKey& key, uint64_t id,
                                       const char context[8]);

// Writes `contents` to a new file with mode 0600 (O_EXCL), fsyncs it.
absl::Status WriteSecretFile(const std::string& path,
                             std::string_view contents);

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_MASTER_KEY_H_
