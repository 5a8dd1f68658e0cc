// SealedSpool: a suspect file received for tracing, kept on disk only
// sealed, and read back by range as a LeakFile.
//
// The file has no name (O_TMPFILE, else mkstemp + unlink), so nothing of it
// outlives the object. It is cut into kBlockSize blocks, each sealed with
// ChunkCipher (crypto/chunk_cipher.h: XChaCha20-Poly1305, the block's index,
// finality and length in the associated data) under a key drawn for this
// spool alone and held only in locked memory. Plaintext weights never reach
// the disk, and after a crash the spool is ciphertext whose key is gone. A
// block changed on disk during the trace fails to open: DATA_LOSS.
//
// On disk, block b (plaintext length n) is at b · kSealedBlockSize:
//   nonce[24] ‖ ciphertext[n] ‖ tag[16]
// Nothing is reserved: the spool grows with the bytes appended.
//
// Use: Create, Append until `size` bytes, Finish, then read. Not
// thread-safe (reads fill a cache of opened blocks).
#ifndef MODELVAULT_TRACE_SEALED_SPOOL_H_
#define MODELVAULT_TRACE_SEALED_SPOOL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/aead.h"
#include "crypto/chunk_cipher.h"
#include "crypto/sha256.h"
#include "trace/leak_file.h"

namespace mv {

class SealedSpool final : public LeakFile {
 public:
  // Small blocks keep a random read cheap: the tracer reads single elements
  // scattered over the file, and each costs at most one block's pread and
  // decryption. The seal adds 1% to the spool.
  static constexpr uint64_t kBlockSize = 4096;
  static constexpr uint64_t kSealedBlockSize = kBlockSize + Aead::kOverhead;

  // A spool in `dir` for a file of `size` bytes. RESOURCE_EXHAUSTED if the
  // sealed file cannot fit in the directory's free space now; INTERNAL if
  // no file can be created there.
  static absl::StatusOr<std::unique_ptr<SealedSpool>> Create(
      const std::string& dir, uint64_t size);
  ~SealedSpool() override;
  SealedSpool(const SealedSpool&) = delete;
  SealedSpool& operator=(const SealedSpool&) = delete;

  // Appends bytes of the file. FAILED_PRECONDITION past `size` or after
  // Finish; RESOURCE_EXHAUSTED when the disk is full.
  absl::Status Append(std::string_view data);
  // Seals what is buffered. FAILED_PRECONDITION unless exactly `size` bytes
  // were appended. Reading requires it.
  absl::Status Finish();

  uint64_t size() const override { return size_; }
  // REQUIRES: Finish succeeded.
  Sha256Digest sha256() const override { return *sha256_; }
  // FAILED_PRECONDITION before Finish.
  absl::Status ReadAt(uint64_t offset, std::span<char> out) const override;

 private:
  // The last block opened at each slot (block index % kCachedBlocks).
  struct CachedBlock {
    uint64_t index = UINT64_MAX;
    std::string plaintext;
  };
  static constexpr size_t kCachedBlocks = 256;  // 1 MiB of plaintext
  // Blocks a read opens with one pread (alignment reads whole tensors).
  static constexpr uint64_t kReadAheadBlocks = 64;
  static_assert(kReadAheadBlocks <= kCachedBlocks);

  SealedSpool(int fd, uint64_t size, SecretKey key);
  uint64_t BlockCount() const { return (size_ + kBlockSize - 1) / kBlockSize; }
  absl::Status SealBlock();
  absl::Status FlushSealed();
  // Opens blocks [first, first + count) (clipped to the file) into the
  // cache with one read. DATA_LOSS if one does not open.
  absl::Status OpenBlocks(uint64_t first, uint64_t count) const;

  int fd_;
  uint64_t size_;
  ChunkCipher cipher_;
  uint64_t appended_ = 0;
  std::string block_;            // plaintext not yet sealed (< kBlockSize)
  std::string sealed_;           // sealed blocks not yet written
  uint64_t sealed_written_ = 0;  // bytes of the file written
  Sha256 hash_;
  std::optional<Sha256Digest> sha256_;  // set by Finish
  mutable std::vector<CachedBlock> cache_;
  mutable std::string read_buffer_;  // a run of sealed blocks
};

}  // namespace mv

#endif  // MODELVAULT_TRACE_SEALED_SPOOL_H_
