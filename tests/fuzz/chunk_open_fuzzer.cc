// Fuzzes chunk opening (crypto/chunk_cipher.h) under a fixed key. Input:
//   mode u8 ‖ index u64 LE ‖ final u8 ‖ expected_len u32 LE ‖ bytes
// mode even: `bytes` is an arbitrary sealed chunk; opening must fail with
//   DATA_LOSS and leave no plaintext (forging a Poly1305 tag is not a thing
//   a fuzzer does).
// mode odd: `bytes` is a plaintext; it is sealed at (index, final), must
//   open to the same bytes, and must fail with DATA_LOSS after any one of:
//   a bit flip (position from the header), another index, the other
//   `final`, another length, truncation.
#include <cstring>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "crypto/chunk_cipher.h"
#include "fuzz_check.h"

namespace {

constexpr uint64_t kVersionId = 42;
constexpr size_t kHeader = 1 + 8 + 1 + 4;

const mv::ChunkCipher& Cipher() {
  static const mv::ChunkCipher* cipher = [] {
    uint8_t key[mv::SecretKey::kSize];
    for (size_t i = 0; i < sizeof key; ++i)
      key[i] = static_cast<uint8_t>(i * 7 + 1);
    absl::StatusOr<mv::SecretKey> k = mv::SecretKey::FromBytes(key);
    MV_FUZZ_CHECK(k.ok());
    return new mv::ChunkCipher(kVersionId, std::move(*k));
  }();
  return *cipher;
}

void ExpectLoss(uint64_t index, bool final, uint32_t len,
                std::string_view sealed) {
  std::string plaintext = "left over";
  absl::Status s =
      Cipher().Open(index, final, len, mv::AsBytes(sealed), &plaintext);
  MV_FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
  MV_FUZZ_CHECK(plaintext.empty() || plaintext == "left over");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kHeader) return 0;
  uint8_t mode = data[0];
  uint64_t index = 0;
  uint32_t len = 0;
  std::memcpy(&index, data + 1, 8);
  bool final = data[9] & 1;
  std::memcpy(&len, data + 10, 4);
  std::string_view bytes = mv::fuzz::AsView(data + kHeader, size - kHeader);

  if (mode % 2 == 0) {
    ExpectLoss(index, final, len, bytes);
    return 0;
  }
  std::string sealed;
  Cipher().Seal(index, final, mv::AsBytes(bytes), &sealed);
  MV_FUZZ_CHECK(sealed.size() == bytes.size() + mv::Aead::kOverhead);
  uint32_t real_len = static_cast<uint32_t>(bytes.size());
  std::string plaintext;
  MV_FUZZ_CHECK(
      Cipher()
          .Open(index, final, real_len, mv::AsBytes(sealed), &plaintext)
          .ok());
  MV_FUZZ_CHECK(plaintext == bytes);

  std::string flipped = sealed;
  size_t bit = len % (flipped.size() * 8);
  flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
  ExpectLoss(index, final, real_len, flipped);
  ExpectLoss(index + 1 + (mode >> 1), final, real_len, sealed);
  ExpectLoss(index, !final, real_len, sealed);
  if (len != real_len) ExpectLoss(index, final, len, sealed);
  ExpectLoss(index, final, real_len,
             std::string_view(sealed).substr(0, sealed.size() - 1));
  return 0;
}
