#include "storage/key_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>

#include "testing/status_matchers.h"
#include "testing/temp_dir.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const std::string kVaultId(16, 'v');

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class KeyFileTest : public ::testing::Test {
 protected:
  KeyFileTest() : path_(dir_.Sub("keys.mvk")) {}
  std::unique_ptr<KeyFile> Create() {
    auto file = KeyFile::Create(path_, kVaultId);
    EXPECT_THAT(file, IsOk());
    return *std::move(file);
  }
  mvtesting::TempDir dir_;
  std::string path_;
  SecretKey master_ = *SecretKey::Random();
};

TEST_F(KeyFileTest, IsCreatedOwnerOnly) {
  Create();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
}

TEST_F(KeyFileTest, TheNewestKeyRingThatOpensWins) {
  auto file = Create();
  EXPECT_THAT(file->ReadKeyRing(master_),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));  // none yet
  auto v1 = *KeyRing::Create(1);
  ASSERT_THAT(file->WriteKeyRing(master_, *v1, 0), IsOk());
  auto v2 = *v1->WithNewVersion(2);
  ASSERT_THAT(file->WriteKeyRing(master_, *v2, 1), IsOk());
  auto read = file->ReadKeyRing(master_);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->generation, 2u);
  EXPECT_EQ(read->ring->current(), 2u);
  // Reopened from disk, the same.
  auto again = KeyFile::Open(path_, kVaultId);
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ((*again)->ReadKeyRing(master_)->generation, 2u);
}

TEST_F(KeyFileTest, AnotherMasterKeyOpensNoKeyRing) {
  auto file = Create();
  ASSERT_THAT(file->WriteKeyRing(master_, **KeyRing::Create(1), 0), IsOk());
  EXPECT_THAT(
      file->ReadKeyRing(*SecretKey::Random()),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("no keyring in")));
}

TEST_F(KeyFileTest, ErasingOldGenerationsLeavesOnlyTheKeptOne) {
  auto file = Create();
  auto v1 = *KeyRing::Create(1);
  ASSERT_THAT(file->WriteKeyRing(master_, *v1, 0), IsOk());
  SecretKey other = *SecretKey::Random();
  ASSERT_THAT(file->WriteKeyRing(other, *v1, 1), IsOk());  // a rekey, step 1
  EXPECT_EQ(file->ReadKeyRing(master_)->generation, 1u);
  EXPECT_EQ(file->ReadKeyRing(other)->generation, 2u);
  ASSERT_THAT(file->EraseKeyRingsBut(other, 2), IsOk());
  EXPECT_THAT(file->ReadKeyRing(master_),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(file->ReadKeyRing(other), IsOk());
  // The erased slot is zeros on disk.
  const std::string bytes = Slurp(path_);
  const bool slot0_zero =
      bytes.substr(KeyFile::kHeaderSize, KeyFile::kKeyRingSlotSize) ==
      std::string(KeyFile::kKeyRingSlotSize, '\0');
  const bool slot1_zero =
      bytes.substr(KeyFile::kHeaderSize + KeyFile::kKeyRingSlotSize,
                   KeyFile::kKeyRingSlotSize) ==
      std::string(KeyFile::kKeyRingSlotSize, '\0');
  EXPECT_NE(slot0_zero, slot1_zero);
}

TEST_F(KeyFileTest, AKeyRingTooLargeForItsSlotIsRefusedAndChangesNothing) {
  auto file = Create();
  std::unique_ptr<const KeyRing> ring = *KeyRing::Create(1);
  ASSERT_THAT(file->WriteKeyRing(master_, *ring, 0), IsOk());
  while (ring->versions().size() < 100) ring = *ring->WithNewVersion(2);
  EXPECT_THAT(file->WriteKeyRing(master_, *ring, 1),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("retire old versions")));
  auto read = file->ReadKeyRing(master_);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->generation, 1u);
}

TEST_F(KeyFileTest, AnEditedKeyRingSlotDoesNotOpen) {
  auto file = Create();
  ASSERT_THAT(file->WriteKeyRing(master_, **KeyRing::Create(1), 0), IsOk());
  std::string bytes = Slurp(path_);
  bytes[KeyFile::kHeaderSize + 40] ^= 1;
  std::ofstream(path_, std::ios::binary) << bytes;
  EXPECT_THAT((*KeyFile::Open(path_, kVaultId))->ReadKeyRing(master_),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(KeyFileTest, AnotherVaultsFileIsRefused) {
  Create();
  EXPECT_THAT(
      KeyFile::Open(path_, std::string(16, 'w')),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not this vault")));
  EXPECT_THAT(
      KeyFile::Open(dir_.Sub("missing"), kVaultId),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("missing")));
}

TEST_F(KeyFileTest, DataKeySlotsHoldTwoHalvesAndEraseToZeros) {
  auto file = Create();
  EXPECT_THAT(*file->ReadDataKey(5), IsEmpty());  // past the end
  const std::string wrapped(KeyRing::kWrappedKeySize, 'w');
  ASSERT_THAT(file->WriteDataKey(5, 0, 1, wrapped), IsOk());
  ASSERT_THAT(file->WriteDataKey(5, 1, 2, wrapped), IsOk());
  EXPECT_THAT(*file->ReadDataKey(5), SizeIs(2));
  EXPECT_EQ(file->DataKeyCapacity(), 6u);
  ASSERT_THAT(file->EraseDataKey(5, 0), IsOk());
  auto halves = *file->ReadDataKey(5);
  ASSERT_THAT(halves, SizeIs(1));
  EXPECT_EQ(halves[0].half, 1);
  EXPECT_EQ(halves[0].key_version, 2u);
  ASSERT_THAT(file->EraseDataKey(5), IsOk());
  ASSERT_THAT(file->Sync(), IsOk());
  EXPECT_THAT(*file->ReadDataKey(5), IsEmpty());
  EXPECT_EQ(Slurp(path_).substr(KeyFile::kDataKeyBase + 5 * 256, 256),
            std::string(256, '\0'));
  EXPECT_THAT(file->WriteDataKey(5, 2, 1, wrapped),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(file->WriteDataKey(5, 0, 1, "short"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace mv
