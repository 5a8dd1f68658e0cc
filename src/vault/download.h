// ChunkDownload: the ArtifactReader behind Catalog::OpenDownload.
//
// A prefetch thread reads the chunks covering [offset, offset+length) in
// short read transactions (kChunksPerReadTxn per transaction, so a slow
// client never pins old pages), opens them with the version's data key
// straight from the LMDB map and queues the plaintext; the caller's thread
// drains the queue and sends. Only the chunks covering the range are read.
//
// A fingerprinted download (DownloadMarks given) also patches each piece
// with the download's marks on the prefetch thread (trace/embed.h: the
// output is the same for any range split), and a hash thread computes the
// SHA-256 of the delivered bytes between prefetching and the caller, so
// hashing overlaps both decrypt+mark and the caller's sending:
//
//   prefetch (read, open, trim, mark) → queue → hash → queue → Next()
//
// An unmarked partial range is hashed on that stage too; an unmarked whole
// version skips it (its digest is the stored one).
// Memory is bounded by 2 × kQueueChunks × chunk size.
#ifndef MODELVAULT_VAULT_DOWNLOAD_H_
#define MODELVAULT_VAULT_DOWNLOAD_H_

#include <atomic>
#include <memory>
#include <thread>

#include "common/bounded_queue.h"
#include "common/buffer_pool.h"
#include "crypto/chunk_cipher.h"
#include "vault/key_store.h"
#include "crypto/sha256.h"
#include "trace/embed.h"
#include "trace/mark_table.h"
#include "vault/artifact_io.h"
#include "vault/catalog.h"

namespace mv {

// A fingerprinted download's marks: the version's table and the code of
// this download id, made once when the download opens.
struct DownloadMarks {
  MarkTable table;
  DownloadCode code;
};

// Opens chunk `index` of `version` in `txn`: copies it out of the map into
// *sealed (a buffer kept between calls) and decrypts it into *plaintext.
// DATA_LOSS if the chunk is missing or fails authentication. Used by
// ChunkDownload and StoredVersionFile (the tracer's read of an original).
absl::Status OpenStoredChunk(const Txn& txn, const Dbs& dbs,
                             const VersionRecord& version,
                             const ChunkCipher& cipher, uint64_t index,
                             std::string* sealed, std::string* plaintext);

class ChunkDownload : public ArtifactReader {
 public:
  static constexpr uint64_t kChunksPerReadTxn = 8;
  static constexpr size_t kQueueChunks = 8;

  // REQUIRES: offset + length ≤ version.size. `marks` (nullptr = none)
  // makes the download fingerprinted; otherwise `delivery` says how the
  // original bytes were asked for (kUnmarked or kExact).
  static absl::StatusOr<std::unique_ptr<ChunkDownload>> Open(
      const LmdbEnv* env, const KeyStore& keys, VersionRecord version,
      VersionInfo info, uint64_t offset, uint64_t length,
      std::unique_ptr<const DownloadMarks> marks = nullptr,
      Delivery delivery = Delivery::kUnmarked);
  ~ChunkDownload() override;

  const VersionInfo& version() const override { return info_; }
  uint64_t offset() const override { return offset_; }
  uint64_t length() const override { return length_; }
  absl::StatusOr<bool> Next(std::string* out) override;
  std::string DeliveredSha256() override;
  Delivery delivery() const override { return delivery_; }

 private:
  struct Piece {
    absl::Status status;
    std::string bytes;
  };
  ChunkDownload(const LmdbEnv* env, VersionRecord version, VersionInfo info,
                SecretKey dek, uint64_t offset, uint64_t length,
                std::unique_ptr<const DownloadMarks> marks, Delivery delivery);
  void PrefetchLoop();
  // Marks (if fingerprinted) and queues `batch`, whose first piece starts at
  // file offset *at; false once the download is over (the reader went away
  // or a failure was queued).
  bool Deliver(std::vector<Piece>* batch, uint64_t* at);
  void HashLoop();
  // Opens chunks [first, last] into *plain (one string per chunk).
  absl::Status OpenBatch(uint64_t first, uint64_t last,
                         std::vector<Piece>* plain) const;
  void Trim(uint64_t index, std::string* plaintext) const;

  const LmdbEnv* env_;
  const Dbs dbs_;
  const VersionRecord record_;
  const VersionInfo info_;
  const ChunkCipher cipher_;
  const uint64_t offset_, length_;
  const std::unique_ptr<const DownloadMarks> marks_;  // null = original bytes
  const Delivery delivery_;
  // The delivered bytes are the whole stored version: their digest is known.
  const bool known_digest_;

  // Buffers Next() has handed on, for OpenBatch to decrypt into again.
  mutable BufferPool plaintext_buffers_{kQueueChunks};
  // The chunk OpenBatch is opening, read out of the data file (see
  // Txn::CopyValue); used only on the prefetcher thread.
  mutable std::string sealed_;
  BoundedQueue<Piece> queue_{kQueueChunks};  // prefetch → hash (or Next)
  BoundedQueue<Piece> hashed_{
      kQueueChunks};  // hash → Next (unless known_digest_)
  std::thread prefetcher_, hasher_;
  Sha256Digest digest_{};  // of the delivered bytes; written by the hasher
                           // before it closes hashed_
  bool done_ = false;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_DOWNLOAD_H_
