// ChunkCipher: seals and opens the stored chunks of one artifact version
// under that version's data key (DEK).
//
// Associated data binds each chunk to its place (the STREAM idea of age):
//   version_id  u64 BE ‖ chunk_index u64 BE ‖ final u8 (0|1) ‖ plaintext_len
//   u32 BE
// so a swapped, reordered, duplicated, truncated, spliced or bit-flipped
// chunk fails to open (DATA_LOSS) and wrong bytes are never returned.
// Thread-safe: all methods are const.
#ifndef MODELVAULT_CRYPTO_CHUNK_CIPHER_H_
#define MODELVAULT_CRYPTO_CHUNK_CIPHER_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "crypto/aead.h"

namespace mv {

struct ChunkPosition {
  uint64_t version_id;
  uint64_t index;
  bool final;
};

class ChunkCipher {
 public:
  ChunkCipher(uint64_t version_id, SecretKey dek)
      : version_id_(version_id), aead_(std::move(dek)) {}

  void Seal(uint64_t index, bool final, std::span<const uint8_t> plaintext,
            std::string* sealed) const;
  // `expected_plaintext_len` comes from the manifest; it is part of the AD,
  // so a chunk of any other length fails to open.
  absl::Status Open(uint64_t index, bool final, uint32_t expected_plaintext_len,
                    std::span<const uint8_t> sealed,
                    std::string* plaintext) const;

  static std::array<uint8_t, 21> AssociatedData(uint64_t version_id,
                                                uint64_t index, bool final,
                                                uint32_t plaintext_len);

 private:
  uint64_t version_id_;
  Aead aead_;
};

}  // namespace mv

#endif  // MODELVAULT_CRYPTO_CHUNK_CIPHER_H_
