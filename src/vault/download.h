// ChunkDownload: the ArtifactReader behind Vault::OpenDownload.
//
// A prefetch thread reads the chunks covering [offset, offset+length) in
// short read transactions (kChunksPerReadTxn per transaction, so a slow
// client never pins old pages), opens them with the version's data key
// straight from the LMDB map and queues the plaintext; the caller's thread
// drains the queue and sends. Only the chunks covering the range are read.
// Memory is bounded by kQueueChunks × chunk size.
#ifndef MODELVAULT_VAULT_DOWNLOAD_H_
#define MODELVAULT_VAULT_DOWNLOAD_H_

#include <atomic>
#include <memory>
#include <thread>

#include "common/bounded_queue.h"
#include "crypto/chunk_cipher.h"
#include "crypto/key_ring.h"
#include "crypto/sha256.h"
#include "vault/artifact_io.h"
#include "vault/catalog.h"

namespace mv {

class ChunkDownload : public ArtifactReader {
 public:
  static constexpr uint64_t kChunksPerReadTxn = 8;
  static constexpr size_t kQueueChunks = 8;

  // REQUIRES: offset + length ≤ version.size.
  static absl::StatusOr<std::unique_ptr<ChunkDownload>> Open(
      const LmdbEnv* env, const KeyRing& keys, VersionRecord version, VersionInfo info,
      uint64_t offset, uint64_t length);
  ~ChunkDownload() override;

  const VersionInfo& version() const override { return info_; }
  uint64_t offset() const override { return offset_; }
  uint64_t length() const override { return length_; }
  absl::StatusOr<bool> Next(std::string* out) override;
  std::string DeliveredSha256() override;

 private:
  struct Piece {
    absl::Status status;
    std::string bytes;
  };
  ChunkDownload(const LmdbEnv* env, VersionRecord version, VersionInfo info, SecretKey dek,
                uint64_t offset, uint64_t length);
  void PrefetchLoop();
  // Opens chunks [first, last] into *plain (one string per chunk).
  absl::Status OpenBatch(uint64_t first, uint64_t last, std::vector<Piece>* plain) const;
  void Trim(uint64_t index, std::string* plaintext) const;

  const LmdbEnv* env_;
  const Dbs dbs_;
  const VersionRecord record_;
  const VersionInfo info_;
  const ChunkCipher cipher_;
  const uint64_t offset_, length_;
  const bool whole_;  // the range is the whole version: its digest is known

  BoundedQueue<Piece> queue_{kQueueChunks};
  std::thread prefetcher_;
  Sha256 sha_;  // of delivered bytes, for partial ranges only
  bool done_ = false;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_DOWNLOAD_H_
