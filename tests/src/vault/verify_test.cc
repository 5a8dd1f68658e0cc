// Vault::Verify: the consistency pass behind `modelvaultd verify`.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "common/status_macros.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"
#include "vault/records.h"

namespace mvtesting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class VerifyTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    std::mt19937_64 rng(21);
    ASSERT_THAT(Upload("acme/a", RandomBytes(3 * kChunk + 5, rng)), IsOk());
    ASSERT_THAT(Upload({"acme/b", {}, {"prod"}, 0}, RandomBytes(kChunk, rng)),
                IsOk());
    ASSERT_THAT(Upload("acme/empty", ""), IsOk());
  }

  mv::VerifyReport Verify() {
    Reopen();
    absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
    EXPECT_THAT(report, IsOk());
    return report.ok() ? *report : mv::VerifyReport{};
  }

  // The raw key of chunk `index` of the first stored version.
  std::string FirstVersionChunk(uint64_t index) {
    return mv::ChunkKey(StoredChunks().front().version_id, index);
  }
};

TEST_F(VerifyTest, AWholeVaultHasNoProblems) {
  mv::VerifyReport report = Verify();
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_EQ(report.versions, 3u);
  EXPECT_EQ(report.chunks, 4u + 1u + 1u);
  EXPECT_EQ(report.bytes, 4 * kChunk + 5);
}

TEST_F(VerifyTest, AFlippedCiphertextBitNamesTheVersion) {
  CloseVault();
  std::string key = FirstVersionChunk(1);  // outside: EditRaw must not nest
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                auto value = txn.Get(env.Db("chunks"), key);
                std::string flipped(**value);
                flipped[40] ^= 0x04;
                return txn.Put(env.Db("chunks"), key, flipped);
              }),
              IsOk());
  EXPECT_THAT(
      Verify().problems,
      ElementsAre(HasSubstr("acme/a@1: stored data failed authentication")));
}

TEST_F(VerifyTest, AMissingChunkIsCountedAndNamed) {
  CloseVault();
  std::string key = FirstVersionChunk(2);
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Delete(env.Db("chunks"), key);
              }),
              IsOk());
  EXPECT_THAT(
      Verify().problems,
      ElementsAre(
          HasSubstr("acme/a@1: 3 chunks stored, manifest says 4"),
          HasSubstr("acme/a@1: stored data of acme/a@1 is incomplete")));
}

TEST_F(VerifyTest, OrphanChunksAndDanglingAliasesAreReported) {
  CloseVault();
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                MV_RETURN_IF_ERROR(
                    txn.Put(env.Db("chunks"), mv::ChunkKey(999, 0), "stray"));
                mv::ArtifactRecord b;
                b.last_number = 1;
                b.aliases["prod"] = 1;
                b.aliases["old"] = 7;
                return txn.Put(env.Db("artifacts"), "acme/b",
                               mv::EncodeArtifact(b));
              }),
              IsOk());
  EXPECT_THAT(
      Verify().problems,
      ElementsAre(
          HasSubstr(
              "1 chunk(s) of version id 999 belong to no version or upload"),
          HasSubstr("acme/b@old points to missing version 7")));
}

TEST_F(VerifyTest, AnotherProcesssPendingUploadIsNeitherAProblemNorCollected) {
  // As if a running server had an upload in flight: a pending record and a
  // chunk under an id no version owns.
  CloseVault();
  ASSERT_THAT(
      EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        mv::PendingRecord live{"acme/live", absl::ToUnixMillis(clock_.Now())};
        MV_RETURN_IF_ERROR(txn.Put(env.Db("pending"), mv::IdKey(500),
                                   mv::EncodePending(live)));
        return txn.Put(env.Db("chunks"), mv::ChunkKey(500, 0), "sealed bytes");
      }),
      IsOk());
  mv::VaultOptions inspect = Options();
  inspect.collect_pending_on_open = false;
  {
    auto inspector = mv::Vault::Open(inspect, Kek());
    ASSERT_THAT(inspector, IsOk());
    absl::StatusOr<mv::VerifyReport> report = (*inspector)->Verify();
    ASSERT_THAT(report, IsOk());
    EXPECT_THAT(report->problems, IsEmpty());
  }
  EXPECT_EQ(DumpRaw("pending").size(), 1u)
      << "the inspector must not collect it";
  Reopen();  // a serving open collects it
  CloseVault();
  EXPECT_THAT(DumpRaw("pending"), IsEmpty());
}

}  // namespace
}  // namespace mvtesting
