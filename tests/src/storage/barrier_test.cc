#include "storage/barrier.h"

#include <gtest/gtest.h>

#include "common/bytes.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using mvtesting::IsOk;
using mvtesting::StatusIs;
using ::testing::HasSubstr;

SecretKey Key(uint8_t fill) {
  uint8_t bytes[SecretKey::kSize];
  std::fill(std::begin(bytes), std::end(bytes), fill);
  return *SecretKey::FromBytes(bytes);
}

const std::string kVaultA(16, 'a'), kVaultB(16, 'b');

// A one-version keyring whose root key is `fill` repeated.
std::shared_ptr<KeyRingHolder> Ring(uint8_t fill) {
  std::string encoded("\x01\0\0\0\x01\0\0\0\x01", 9);
  encoded.append(8, '\0');
  encoded.append(32, static_cast<char>(fill));
  return std::make_shared<KeyRingHolder>(*KeyRing::Decode(AsBytes(encoded)));
}

std::unique_ptr<StorageBarrier> Barrier(uint8_t key, const std::string& id) {
  absl::StatusOr<std::unique_ptr<StorageBarrier>> b =
      StorageBarrier::New(Ring(key), id);
  EXPECT_THAT(b, IsOk());
  return b.ok() ? *std::move(b) : nullptr;
}

TEST(StorageBarrierTest, OpensWhatItSealedAndHidesThePlaintext) {
  auto barrier = Barrier(1, kVaultA);
  std::string sealed, opened;
  barrier->Seal("principals", "alice", "policy:readers", &sealed);
  EXPECT_EQ(sealed.size(), 14 + StorageBarrier::kOverhead);
  EXPECT_EQ(sealed.find("readers"), std::string::npos);
  EXPECT_THAT(barrier->Open("principals", "alice", sealed, &opened), IsOk());
  EXPECT_EQ(opened, "policy:readers");
  barrier->Seal("meta", "format", "", &sealed);  // empty values too
  EXPECT_THAT(barrier->Open("meta", "format", sealed, &opened), IsOk());
  EXPECT_EQ(opened, "");
}

TEST(StorageBarrierTest, AValueMovedEditedOrFromAnotherVaultFailsNamingIt) {
  auto barrier = Barrier(1, kVaultA);
  std::string sealed, opened;
  barrier->Seal("tokens", std::string("k\0y", 3), "record", &sealed);
  const std::string key("k\0y", 3);
  EXPECT_THAT(barrier->Open("tokens", "other", sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("stored record tokens/\"other\" fails to "
                                 "authenticate")));
  EXPECT_THAT(barrier->Open("principals", key, sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("principals/\"k\\x00y\"")));
  std::string flipped = sealed;
  flipped[flipped.size() / 2] ^= 1;
  EXPECT_THAT(barrier->Open("tokens", key, flipped, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(barrier->Open("tokens", key, "record", &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(barrier->Open("tokens", key, "", &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  // Same master key, another vault: its records do not open here.
  EXPECT_THAT(Barrier(1, kVaultB)->Open("tokens", key, sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(Barrier(2, kVaultA)->Open("tokens", key, sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(barrier->Open("tokens", key, sealed, &opened), IsOk());
}

TEST(StorageBarrierTest, ChunksTheKeyCheckAndTheVaultIdStayAsStored) {
  auto barrier = Barrier(1, kVaultA);
  EXPECT_FALSE(barrier->Seals("chunks", "anything"));
  EXPECT_FALSE(barrier->Seals("meta", "kcv"));
  EXPECT_FALSE(barrier->Seals("meta", "vault_id"));
  EXPECT_TRUE(barrier->Seals("meta", "format"));
  EXPECT_TRUE(barrier->Seals("meta", "token_key"));
  EXPECT_TRUE(barrier->Seals("audit", "x"));
  EXPECT_TRUE(barrier->Seals("marks", "x"));
}

TEST(StorageBarrierTest, RefusesAVaultIdOfTheWrongSize) {
  EXPECT_THAT(
      StorageBarrier::New(Ring(1), "short"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("16 bytes")));
}

TEST(StorageBarrierTest, SealsUnderTheCurrentVersionAndOpensOlderOnes) {
  auto holder = Ring(1);
  auto barrier = *StorageBarrier::New(holder, kVaultA);
  std::string old_sealed, new_sealed, opened;
  barrier->Seal("tokens", "t", "v", &old_sealed);
  EXPECT_EQ(StorageBarrier::KeyVersionOf(old_sealed), 1u);
  holder->Set(*holder->Get()->WithNewVersion(0));  // a rotation
  barrier->Seal("tokens", "t", "v", &new_sealed);
  EXPECT_EQ(StorageBarrier::KeyVersionOf(new_sealed), 2u);
  EXPECT_THAT(barrier->Open("tokens", "t", old_sealed, &opened), IsOk());
  // The version number is bound: relabelled, the value does not open.
  std::string relabelled = old_sealed;
  relabelled[4] = 2;
  EXPECT_THAT(barrier->Open("tokens", "t", relabelled, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  holder->Set(*holder->Get()->Without(1));  // retired
  EXPECT_THAT(barrier->Open("tokens", "t", old_sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(barrier->Open("tokens", "t", new_sealed, &opened), IsOk());
}

TEST(StorageBarrierTest, LayoutOneOpensOnlyWhileMigrating) {
  auto legacy = *StorageBarrier::NewLegacy(Key(1), kVaultA);
  std::string sealed, resealed, opened;
  legacy->Seal("tokens", "t", "v", &sealed);
  EXPECT_EQ(static_cast<uint8_t>(sealed[0]), StorageBarrier::kLegacyLayout);
  EXPECT_EQ(StorageBarrier::KeyVersionOf(sealed), 0u);
  auto holder = Ring(9);
  auto migrating = *StorageBarrier::NewMigrating(Key(1), holder, kVaultA);
  ASSERT_THAT(migrating->Open("tokens", "t", sealed, &opened), IsOk());
  EXPECT_EQ(opened, "v");
  migrating->Seal("tokens", "t", opened, &resealed);
  EXPECT_EQ(static_cast<uint8_t>(resealed[0]), StorageBarrier::kLayout);
  auto strict = *StorageBarrier::New(holder, kVaultA);
  EXPECT_THAT(strict->Open("tokens", "t", resealed, &opened), IsOk());
  EXPECT_THAT(strict->Open("tokens", "t", sealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(legacy->Open("tokens", "t", resealed, &opened),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

}  // namespace
}  // namespace mv
