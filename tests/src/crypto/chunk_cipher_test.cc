#include "crypto/chunk_cipher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/bytes.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::Eq;

constexpr char kFailure[] = "stored data failed authentication";
constexpr uint64_t kVersion = 7;

class ChunkCipherTest : public ::testing::Test {
 protected:
  ChunkCipherTest() : raw_key_(32, '\x5a'), cipher_(kVersion, Key()) {
    std::mt19937_64 rng(2);
    plain_ = mvtesting::RandomBytes(100, rng);
    cipher_.Seal(3, /*final=*/false, AsBytes(plain_), &sealed_);
  }
  SecretKey Key() const { return *SecretKey::FromBytes(AsBytes(raw_key_)); }
  absl::Status OpenAs(const ChunkCipher& c, uint64_t index, bool final,
                      uint32_t len, std::string_view sealed) {
    out_ = "stale";
    return c.Open(index, final, len, AsBytes(sealed), &out_);
  }

  std::string raw_key_;
  ChunkCipher cipher_;
  std::string plain_, sealed_, out_;
};

TEST_F(ChunkCipherTest, OpensAtTheSamePosition) {
  ASSERT_THAT(OpenAs(cipher_, 3, false, 100, sealed_), IsOk());
  EXPECT_EQ(out_, plain_);
}

TEST_F(ChunkCipherTest, OpensEmptyFinalChunk) {
  std::string sealed;
  cipher_.Seal(0, /*final=*/true, {}, &sealed);
  ASSERT_THAT(OpenAs(cipher_, 0, true, 0, sealed), IsOk());
  EXPECT_EQ(out_, "");
}

TEST_F(ChunkCipherTest, WrongIndexFailsWithTheFixedMessage) {
  for (uint64_t index : {0ull, 2ull, 4ull, 3ull | (1ull << 32)}) {
    EXPECT_THAT(OpenAs(cipher_, index, false, 100, sealed_),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << index;
    EXPECT_TRUE(out_.empty());
  }
}

TEST_F(ChunkCipherTest, WrongFinalFlagFails) {
  EXPECT_THAT(OpenAs(cipher_, 3, true, 100, sealed_),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(ChunkCipherTest, WrongPlaintextLengthFails) {
  for (uint32_t len : {0u, 99u, 101u, 100u + (1u << 16)}) {
    EXPECT_THAT(OpenAs(cipher_, 3, false, len, sealed_),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << len;
  }
}

TEST_F(ChunkCipherTest, WrongVersionIdFailsEvenWithTheSameKey) {
  ChunkCipher other(kVersion + 1, Key());
  EXPECT_THAT(OpenAs(other, 3, false, 100, sealed_),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
  ChunkCipher same(kVersion, Key());
  EXPECT_THAT(OpenAs(same, 3, false, 100, sealed_), IsOk());
}

TEST_F(ChunkCipherTest, WrongKeyFails) {
  ChunkCipher other(kVersion, *SecretKey::Random());
  EXPECT_THAT(OpenAs(other, 3, false, 100, sealed_),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(ChunkCipherTest, FlippedBitAnywhereFailsToOpen) {
  for (size_t bit = 0; bit < sealed_.size() * 8; ++bit) {
    std::string bad = sealed_;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_THAT(OpenAs(cipher_, 3, false, 100, bad),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << "bit " << bit;
    ASSERT_TRUE(out_.empty());
  }
}

TEST_F(ChunkCipherTest, TruncatedSealedChunkFailsToOpen) {
  for (size_t n : {size_t{0}, size_t{1}, Aead::kNonceSize, Aead::kOverhead - 1,
                   Aead::kOverhead, sealed_.size() - 1}) {
    EXPECT_THAT(OpenAs(cipher_, 3, false, 100, sealed_.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << "length " << n;
  }
}

TEST_F(ChunkCipherTest, TwoSealsOfTheSameChunkDiffer) {
  std::string again;
  cipher_.Seal(3, false, AsBytes(plain_), &again);
  EXPECT_NE(again, sealed_);
  EXPECT_NE(again.substr(0, Aead::kNonceSize),
            sealed_.substr(0, Aead::kNonceSize));
}

TEST(ChunkCipherAssociatedData, LaysOutVersionIndexFinalAndLengthBigEndian) {
  auto ad = ChunkCipher::AssociatedData(0x0102030405060708, 0x1112131415161718,
                                        true, 0x21222324);
  const std::string got(reinterpret_cast<const char*>(ad.data()), ad.size());
  EXPECT_EQ(mvtesting::Hex(got),
            "0102030405060708"
            "1112131415161718"
            "01"
            "21222324");
  auto not_final = ChunkCipher::AssociatedData(1, 2, false, 3);
  EXPECT_EQ(not_final[16], 0);
}

}  // namespace
}  // namespace mv
