// StoredVersionFile: a stored version's plaintext read by range, as a
// LeakFile, so that the tracer can compare a suspect file with the original
// by content (trace/align.h) without a download: no audit record, no marks,
// nothing written. Each read opens the chunks it covers in a short LMDB
// read transaction with the version's data key; the last chunk opened is
// kept (the aligner reads rows in order).
//
// Not thread-safe (the cache); one trace reads it.
#ifndef MODELVAULT_VAULT_STORED_VERSION_FILE_H_
#define MODELVAULT_VAULT_STORED_VERSION_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/chunk_cipher.h"
#include "vault/key_store.h"
#include "storage/lmdb_env.h"
#include "trace/leak_file.h"
#include "vault/catalog.h"
#include "vault/records.h"

namespace mv {

class StoredVersionFile final : public LeakFile {
 public:
  // Fails as the data key's unwrapping does (DATA_LOSS on a key that does
  // not open).
  static absl::StatusOr<std::unique_ptr<StoredVersionFile>> Open(
      const LmdbEnv& env, const KeyStore& keys, const VersionRecord& version);

  uint64_t size() const override { return version_.size; }
  Sha256Digest sha256() const override;
  // NOT_FOUND if the version was deleted meanwhile, DATA_LOSS if a chunk is
  // missing or fails authentication.
  absl::Status ReadAt(uint64_t offset, std::span<char> out) const override;

 private:
  StoredVersionFile(const LmdbEnv& env, VersionRecord version, SecretKey dek);
  absl::Status OpenChunk(uint64_t index) const;

  const LmdbEnv& env_;
  const Dbs dbs_;
  const VersionRecord version_;
  const ChunkCipher cipher_;
  mutable uint64_t cached_index_ = UINT64_MAX;
  mutable std::string cached_;  // plaintext of chunk cached_index_
  mutable std::string sealed_;  // the chunk being opened
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_STORED_VERSION_FILE_H_
