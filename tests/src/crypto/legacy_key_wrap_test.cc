#include "crypto/legacy_key_wrap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::Eq;

constexpr char kFailure[] = "a wrapped key failed authentication";

std::string Raw(const SecretKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), SecretKey::kSize);
}

class LegacyKeyWrapTest : public ::testing::Test {
 protected:
  LegacyKeyWrapTest()
      : kek_raw_(32, '\x11'), ring_(Kek()), dek_(*SecretKey::Random()) {}
  SecretKey Kek() const { return *SecretKey::FromBytes(AsBytes(kek_raw_)); }

  std::string kek_raw_;
  LegacyKeyWrap ring_;
  SecretKey dek_;
};

TEST_F(LegacyKeyWrapTest, DataKeyUnwrapsToTheSameBytes) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  EXPECT_EQ(wrapped.size(), SecretKey::kSize + Aead::kOverhead);
  absl::StatusOr<SecretKey> back =
      ring_.UnwrapDataKey(42, LegacyKeyWrap::kKeyVersion, wrapped);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(Raw(*back), Raw(dek_));
}

TEST_F(LegacyKeyWrapTest, WrappedDataKeyDoesNotContainTheKey) {
  EXPECT_EQ(ring_.WrapDataKey(42, dek_).find(Raw(dek_)), std::string::npos);
}

TEST_F(LegacyKeyWrapTest, AnotherRingWithTheSameKekUnwraps) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  LegacyKeyWrap again(Kek());
  absl::StatusOr<SecretKey> back = again.UnwrapDataKey(42, 1, wrapped);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(Raw(*back), Raw(dek_));
}

TEST_F(LegacyKeyWrapTest, DataKeyWithWrongVersionIdFails) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  for (uint64_t id : {0ull, 41ull, 43ull, 42ull << 32}) {
    EXPECT_THAT(ring_.UnwrapDataKey(id, LegacyKeyWrap::kKeyVersion, wrapped),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << id;
  }
}

TEST_F(LegacyKeyWrapTest, DataKeyWithWrongKeyVersionFails) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  EXPECT_THAT(ring_.UnwrapDataKey(42, 2, wrapped),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
  EXPECT_THAT(ring_.UnwrapDataKey(42, 0, wrapped),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(LegacyKeyWrapTest, DataKeyWithWrongKekFails) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  LegacyKeyWrap other(*SecretKey::Random());
  EXPECT_THAT(other.UnwrapDataKey(42, 1, wrapped),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(LegacyKeyWrapTest, TamperedOrTruncatedWrappedKeyFails) {
  const std::string wrapped = ring_.WrapDataKey(42, dek_);
  for (size_t i = 0; i < wrapped.size(); ++i) {
    std::string bad = wrapped;
    bad[i] = static_cast<char>(bad[i] ^ 0x80);
    ASSERT_THAT(ring_.UnwrapDataKey(42, 1, bad),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << "byte " << i;
  }
  EXPECT_THAT(ring_.UnwrapDataKey(42, 1, wrapped.substr(0, wrapped.size() - 1)),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
  EXPECT_THAT(ring_.UnwrapDataKey(42, 1, ""),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(LegacyKeyWrapTest, NamedKeyUnwrapsUnderItsName) {
  const std::string wrapped = ring_.WrapNamedKey("token_key", dek_);
  absl::StatusOr<SecretKey> back = ring_.UnwrapNamedKey("token_key", wrapped);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(Raw(*back), Raw(dek_));
}

TEST_F(LegacyKeyWrapTest, NamedKeysAreNotInterchangeable) {
  const std::string wrapped = ring_.WrapNamedKey("token", dek_);
  for (const char* name : {"signing", "toke", "tokenx", "Token", ""}) {
    EXPECT_THAT(ring_.UnwrapNamedKey(name, wrapped),
                StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)))
        << name;
  }
}

TEST_F(LegacyKeyWrapTest, NamedAndDataKeysAreNotInterchangeable) {
  const std::string named = ring_.WrapNamedKey("token", dek_);
  const std::string data = ring_.WrapDataKey(1, dek_);
  EXPECT_THAT(ring_.UnwrapDataKey(1, 1, named),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
  EXPECT_THAT(ring_.UnwrapNamedKey("token", data),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(LegacyKeyWrapTest, NamedKeyWithWrongKekFails) {
  const std::string wrapped = ring_.WrapNamedKey("token", dek_);
  LegacyKeyWrap other(*SecretKey::Random());
  EXPECT_THAT(other.UnwrapNamedKey("token", wrapped),
              StatusIs(absl::StatusCode::kDataLoss, Eq(kFailure)));
}

TEST_F(LegacyKeyWrapTest, TwoWrapsOfTheSameKeyDiffer) {
  EXPECT_NE(ring_.WrapDataKey(1, dek_), ring_.WrapDataKey(1, dek_));
}

}  // namespace
}  // namespace mv
