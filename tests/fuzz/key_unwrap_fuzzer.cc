// Fuzzes unwrapping of stored wrapped keys (crypto/key_ring.h) — the
// wrapped DEKs in the key file and the named keys in meta come from the
// data dir — and decoding a keyring. Input: version_id u64 LE ‖ key_version
// u32 LE ‖ wrapped. Arbitrary wrapped bytes must fail with DATA_LOSS for
// both the data-key and the named-key slots; a genuine wrap of a fixed DEK
// must unwrap only in its own slot and key version; the whole input as an
// encoded keyring decodes or fails with DATA_LOSS.
#include <cstring>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "fuzz_check.h"

namespace {

absl::StatusOr<mv::SecretKey> FixedKey(uint8_t seed) {
  uint8_t key[mv::SecretKey::kSize];
  for (size_t i = 0; i < sizeof key; ++i)
    key[i] = static_cast<uint8_t>(i * 13 + seed);
  return mv::SecretKey::FromBytes(key);
}

// A keyring of versions 1 and 2 with fixed root keys.
const mv::KeyRing& Ring() {
  static const mv::KeyRing* ring = [] {
    std::string encoded("\x01\0\0\0\x02", 5);
    for (uint8_t v : {1, 2}) {
      encoded += std::string("\0\0\0", 3) + static_cast<char>(v);
      encoded += std::string(8, '\0');
      for (size_t i = 0; i < mv::SecretKey::kSize; ++i)
        encoded.push_back(static_cast<char>(i * 13 + v));
    }
    absl::StatusOr<std::unique_ptr<const mv::KeyRing>> decoded =
        mv::KeyRing::Decode(mv::AsBytes(encoded));
    MV_FUZZ_CHECK(decoded.ok());
    return decoded->release();
  }();
  return *ring;
}

void ExpectLoss(const absl::Status& s) {
  MV_FUZZ_CHECK(s.code() == absl::StatusCode::kDataLoss);
  MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(s.message()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 12) return 0;
  uint64_t version_id = 0;
  uint32_t key_version = 0;
  std::memcpy(&version_id, data, 8);
  std::memcpy(&key_version, data + 8, 4);
  std::string_view wrapped = mv::fuzz::AsView(data + 12, size - 12);

  ExpectLoss(Ring().UnwrapDataKey(version_id, key_version, wrapped).status());
  ExpectLoss(Ring().UnwrapNamedKey(wrapped.substr(0, 16), wrapped).status());
  absl::StatusOr<std::unique_ptr<const mv::KeyRing>> decoded =
      mv::KeyRing::Decode({data, size});
  if (!decoded.ok()) ExpectLoss(decoded.status());

  // A genuine wrap opens in its own slot and nowhere else.
  absl::StatusOr<mv::SecretKey> dek = FixedKey(9);
  MV_FUZZ_CHECK(dek.ok());
  std::string real = Ring().WrapDataKey(version_id, *dek);
  absl::StatusOr<mv::SecretKey> back =
      Ring().UnwrapDataKey(version_id, Ring().current(), real);
  MV_FUZZ_CHECK(back.ok());
  MV_FUZZ_CHECK(std::memcmp(back->data(), dek->data(), mv::SecretKey::kSize) ==
                0);
  ExpectLoss(
      Ring()
          .UnwrapDataKey(version_id + 1, Ring().current(), real)
          .status());
  if (key_version != Ring().current()) {
    ExpectLoss(Ring().UnwrapDataKey(version_id, key_version, real).status());
  }
  return 0;
}
