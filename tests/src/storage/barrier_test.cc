#include "storage/barrier.h"

#include <gtest/gtest.h>

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

std::unique_ptr<StorageBarrier> Barrier(uint8_t key, const std::string& id) {
  absl::StatusOr<std::unique_ptr<StorageBarrier>> b =
      StorageBarrier::New(Key(key), id);
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
      StorageBarrier::New(Key(1), "short"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("16 bytes")));
}

}  // namespace
}  // namespace mv
