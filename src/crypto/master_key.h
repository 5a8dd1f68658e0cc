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

std::string KeyCheckValue(const SecretKey& kek);

// Derives an independent subkey (crypto_kdf) for a purpose named by an
// 8-character context, e.g. "mvtoken_".
absl::StatusOr<SecretKey> DeriveSubkey(const SecretKey& key, uint64_t id,
                                       const char context[8]);

// Writes `contents` to a new file with mode 0600 (O_EXCL), fsyncs it.
absl::Status WriteSecretFile(const std::string& path,
                             std::string_view contents);

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_MASTER_KEY_H_
