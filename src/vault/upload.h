// ChunkUpload: the ArtifactWriter behind Vault::BeginUpload.
//
// Pipeline per upload, three stages on three threads: the caller's thread
// seals each full chunk; a hasher thread folds the same plaintext into the
// SHA-256; a committer thread writes sealed chunks under the pending version
// id in short write transactions, taking everything queued at once (so a
// slow fsync batches more chunks instead of stalling the stream). Memory is
// bounded by the queues: 2 × kQueueChunks × chunk size.
//
// A chunk is sealed only when the next byte arrives or at Commit, so the
// final-chunk flag in its associated data is always right. Commit publishes
// the manifest, the artifact's next number and aliases, and drops the
// pending record in one write transaction.
#ifndef MODELVAULT_VAULT_UPLOAD_H_
#define MODELVAULT_VAULT_UPLOAD_H_

#include <memory>
#include <string>
#include <thread>

#include "audit/audit_log.h"
#include "common/bounded_queue.h"
#include "common/clock.h"
#include "crypto/chunk_cipher.h"
#include "crypto/key_ring.h"
#include "crypto/sha256.h"
#include "vault/artifact_io.h"
#include "vault/catalog.h"

namespace mv {

class ChunkUpload : public ArtifactWriter {
 public:
  static constexpr size_t kQueueChunks = 8;

  // Registers a pending upload (allocating its version id) and starts the
  // committer. REQUIRES: spec already validated.
  static absl::StatusOr<std::unique_ptr<ChunkUpload>> Begin(
      LmdbEnv* env, const KeyRing& keys, Clock* clock, uint32_t chunk_size,
      UploadSpec spec, std::string creator, AuditLog* audit_log);
  ~ChunkUpload() override;

  absl::Status Append(std::string_view data) override;
  // Adopts a whole chunk's worth of bytes without copying when it can.
  absl::Status AppendOwned(std::string&& data) override;
  absl::StatusOr<VersionInfo> Commit(std::string_view expected_sha256,
                                     AuditRecord* audit = nullptr) override;

 private:
  struct SealedChunk {
    std::string key, value;
    int64_t sealed_at_ms;  // the client's activity, not the committer's
  };
  ChunkUpload(LmdbEnv* env, Clock* clock, uint32_t chunk_size, UploadSpec spec,
              std::string creator, uint64_t version_id, SecretKey dek,
              std::string wrapped_dek, AuditLog* audit_log);
  // Checks that `data` may be appended and accounts for it.
  absl::Status Admit(std::string_view data);
  void SealBuffered(bool final);
  absl::Status StopCommitter();
  void CommitterLoop();
  void HasherLoop();
  absl::StatusOr<VersionInfo> Publish(const std::string& sha256, Format format,
                                      AuditRecord* audit);

  LmdbEnv* env_;
  AuditLog* audit_log_;  // appends the upload's record in the publish txn
  Dbs dbs_;
  Clock* clock_;
  const uint32_t chunk_size_;
  const UploadSpec spec_;
  const std::string creator_;
  const uint64_t version_id_;
  const std::string wrapped_dek_;
  ChunkCipher cipher_;

  Sha256 sha_;          // owned by the hasher thread until it is joined
  std::string buffer_;  // plaintext of the chunk being filled
  std::string head_;    // first bytes, for format detection
  uint64_t size_ = 0;
  uint64_t next_index_ = 0;
  bool finished_ = false;   // Commit() was called: no more Append
  bool published_ = false;  // the version is visible: keep the chunks

  BoundedQueue<std::shared_ptr<const std::string>> hash_queue_{kQueueChunks};
  std::thread hasher_;
  BoundedQueue<SealedChunk> queue_{kQueueChunks};
  std::mutex mu_;
  absl::Status committer_status_;  // guarded by mu_
  std::thread committer_;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_UPLOAD_H_
