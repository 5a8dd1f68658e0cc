#include "crypto/chunk_cipher.h"

#include "common/bytes.h"

namespace mv {

std::array<uint8_t, 21> ChunkCipher::AssociatedData(uint64_t version_id,
                                                    uint64_t index, bool final,
                                                    uint32_t plaintext_len) {
  std::array<uint8_t, 21> ad{};
  PutBigEndian64(ad.data(), version_id);
  PutBigEndian64(ad.data() + 8, index);
  ad[16] = final ? 1 : 0;
  PutBigEndian32(ad.data() + 17, plaintext_len);
  return ad;
}

void ChunkCipher::Seal(uint64_t index, bool final,
                       std::span<const uint8_t> plaintext,
                       std::string* sealed) const {
  auto ad = AssociatedData(version_id_, index, final,
                           static_cast<uint32_t>(plaintext.size()));
  aead_.Seal(plaintext, ad, sealed);
}

absl::Status ChunkCipher::Open(uint64_t index, bool final,
                               uint32_t expected_plaintext_len,
                               std::span<const uint8_t> sealed,
                               std::string* plaintext) const {
  auto ad = AssociatedData(version_id_, index, final, expected_plaintext_len);
  return aead_.Open(sealed, ad, plaintext);
}

}  // namespace mv
