// Offline rekey (Vault::Rekey): the old key is refused, the new one opens
// the same data, and a crash at either step leaves a vault that exactly one
// of the two keys opens.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crypto/master_key.h"
#include "storage/barrier.h"
#include "storage/key_file.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RekeyTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    data_ = std::string(2 * kChunk + 9, 'r');
    ASSERT_THAT(Upload("k/model", data_), IsOk());
    CloseVault();
  }
  mv::SecretKey NewKey() const {
    return *mv::SecretKey::FromBytes(mv::AsBytes(new_key_));
  }
  // Opens with `key`, checks the data, closes.
  absl::Status OpensWith(mv::SecretKey key) {
    absl::StatusOr<std::unique_ptr<mv::Vault>> v =
        mv::Vault::Open(Options(), std::move(key));
    if (!v.ok()) return v.status();
    vault_ = *std::move(v);
    EXPECT_EQ(Fetch("k/model").bytes, data_);
    CloseVault();
    return absl::OkStatus();
  }

  std::string data_;
  const std::string new_key_ = std::string(32, '\x5a');
};

TEST_F(RekeyTest, TheOldKeyIsRefusedAndTheNewOneOpensTheSameData) {
  ASSERT_THAT(mv::Vault::Rekey(Options(), Kek(), NewKey()), IsOk());
  EXPECT_THAT(OpensWith(Kek()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("wrong master key")));
  EXPECT_THAT(OpensWith(NewKey()), IsOk());
  // Nothing in the key file opens under the old key any more.
  auto file =
      mv::KeyFile::Open(Options().data_dir + "/keys.mvk", StoredVaultId());
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT((*file)->ReadKeyRing(Kek()),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(RekeyTest, IsOnRecord) {
  ASSERT_THAT(mv::Vault::Rekey(Options(), Kek(), NewKey()), IsOk());
  vault_ = *mv::Vault::Open(Options(), NewKey());
  bool found = false;
  ASSERT_THAT(vault_->audit_log().ScanRecords(
                  1,
                  [&](const mv::AuditRecord& r, std::string_view) {
                    found |= r.method == "modelvaultd rekey";
                    return true;
                  }),
              IsOk());
  EXPECT_TRUE(found);
}

TEST_F(RekeyTest, TheSameKeyIsRefusedAndChangesNothing) {
  EXPECT_THAT(
      mv::Vault::Rekey(Options(), Kek(), Kek()),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already")));
  EXPECT_THAT(OpensWith(Kek()), IsOk());
}

TEST_F(RekeyTest, AWrongOldKeyChangesNothing) {
  EXPECT_THAT(mv::Vault::Rekey(Options(), NewKey(), *mv::SecretKey::Random()),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(OpensWith(Kek()), IsOk());
}

// Crash after step 1 (the new generation written), before the commit.
TEST_F(RekeyTest, ACrashBeforeTheCommitLeavesTheOldKeyOnly) {
  ASSERT_THAT(OpenKeyStore()->BeginRekey(NewKey()), IsOk());
  EXPECT_THAT(OpensWith(NewKey()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("wrong master key")));
  EXPECT_THAT(OpensWith(Kek()), IsOk());
  EXPECT_THAT(OpensWith(NewKey()), Not(IsOk()));
}

// Crash after the commit (step 2), before the old generation is erased.
TEST_F(RekeyTest, ACrashAfterTheCommitLeavesTheNewKeyOnly) {
  ASSERT_THAT(OpenKeyStore()->BeginRekey(NewKey()), IsOk());
  const std::string vault_id = StoredVaultId();
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                    return txn.Put(env.Db("meta"), "kcv",
                                   mv::KeyCheckValue(NewKey(), vault_id));
                  },
                  /*through_barrier=*/false),
              IsOk());
  EXPECT_THAT(OpensWith(Kek()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                         HasSubstr("wrong master key")));
  EXPECT_THAT(OpensWith(NewKey()), IsOk());
  // That open finished the rekey: the old generation is gone.
  auto file = mv::KeyFile::Open(Options().data_dir + "/keys.mvk", vault_id);
  EXPECT_THAT((*file)->ReadKeyRing(Kek()),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

}  // namespace
}  // namespace mvtesting
