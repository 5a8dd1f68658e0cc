#include "crypto/key_ring.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;

std::string Raw(const SecretKey& k) { return std::string(AsChars(k.span())); }

std::unique_ptr<const KeyRing> NewRing() { return *KeyRing::Create(1000); }

TEST(KeyRing, StartsWithVersionOne) {
  auto ring = NewRing();
  EXPECT_EQ(ring->current(), 1u);
  EXPECT_THAT(ring->versions(),
              ElementsAre(Field(&KeyRing::VersionInfo::created_unix_ms, 1000)));
}

TEST(KeyRing, DataKeyUnwrapsUnderItsVersionAndIdOnly) {
  auto ring = NewRing();
  SecretKey dek = *SecretKey::Random();
  const std::string wrapped = ring->WrapDataKey(7, dek);
  EXPECT_EQ(wrapped.size(), KeyRing::kWrappedKeySize);
  absl::StatusOr<SecretKey> back = ring->UnwrapDataKey(7, 1, wrapped);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(Raw(*back), Raw(dek));
  EXPECT_THAT(ring->UnwrapDataKey(8, 1, wrapped),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(ring->UnwrapDataKey(7, 2, wrapped),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST(KeyRing, EncodeDecodeKeepsEveryVersion) {
  auto ring = *NewRing()->WithNewVersion(2000);
  SecretKey dek = *SecretKey::Random();
  const std::string wrapped = ring->WrapDataKey(3, dek);
  std::string encoded = ring->Encode();
  auto back = KeyRing::Decode(AsBytes(encoded));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ((*back)->current(), 2u);
  EXPECT_EQ((*back)->versions().size(), 2u);
  EXPECT_THAT((*back)->UnwrapDataKey(3, 2, wrapped), IsOk());
}

TEST(KeyRing, DecodeRejectsMalformedEncodings) {
  std::string encoded = NewRing()->Encode();
  for (std::string bad : {std::string(), encoded.substr(0, 10), encoded + "x",
                          "\x02" + encoded.substr(1)}) {
    EXPECT_THAT(KeyRing::Decode(AsBytes(bad)),
                StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  }
  std::string zero_version = encoded;
  zero_version[8] = 0;  // version 1 → 0
  EXPECT_THAT(KeyRing::Decode(AsBytes(zero_version)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST(KeyRing, RotationWrapsNewKeysUnderTheNewVersionAndOpensOldOnes) {
  auto v1 = NewRing();
  SecretKey dek = *SecretKey::Random();
  const std::string old_wrap = v1->WrapDataKey(1, dek);
  const std::string old_named = v1->WrapNamedKey("token_key", dek);
  auto v2 = *v1->WithNewVersion(5);
  EXPECT_EQ(v2->current(), 2u);
  EXPECT_THAT(v2->UnwrapDataKey(1, 1, old_wrap), IsOk());
  EXPECT_THAT(v2->UnwrapNamedKey("token_key", old_named), IsOk());
  const std::string named = v2->WrapNamedKey("token_key", dek);
  EXPECT_EQ(KeyRing::NamedKeyVersion(named), 2u);
  EXPECT_EQ(KeyRing::NamedKeyVersion(old_named), 1u);
}

TEST(KeyRing, ARetiredVersionOpensNothing) {
  auto v2 = *NewRing()->WithNewVersion(5);
  SecretKey dek = *SecretKey::Random();
  auto v1_only = NewRing();  // another ring: wraps under its own version 1
  const std::string wrapped = v2->WrapDataKey(1, dek);
  auto retired = *v2->Without(1);
  EXPECT_FALSE(retired->Has(1));
  EXPECT_EQ(retired->BarrierKey(1), nullptr);
  EXPECT_THAT(retired->UnwrapDataKey(1, 2, wrapped), IsOk());
  EXPECT_THAT(v2->Without(2),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(v1_only->UnwrapDataKey(1, 1, v1_only->WrapDataKey(1, dek)),
              IsOk());
}

TEST(KeyRing, NamedKeysAreBoundToTheirName) {
  auto ring = NewRing();
  SecretKey key = *SecretKey::Random();
  const std::string stored = ring->WrapNamedKey("token_key", key);
  EXPECT_THAT(ring->UnwrapNamedKey("fingerprint_key", stored),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  std::string edited = stored;
  edited.back() ^= 1;
  EXPECT_THAT(ring->UnwrapNamedKey("token_key", edited),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(ring->UnwrapNamedKey("token_key", "short"),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST(KeyRing, TwoRingsShareNoKeys) {
  auto a = NewRing(), b = NewRing();
  SecretKey dek = *SecretKey::Random();
  EXPECT_THAT(b->UnwrapDataKey(1, 1, a->WrapDataKey(1, dek)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

}  // namespace
}  // namespace mv
