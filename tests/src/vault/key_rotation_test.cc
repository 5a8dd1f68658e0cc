// Online key rotation (vault/key_rotation.h): the job moves every record,
// data key and named key onto the current keyring version, retires the old
// one, and survives being stopped; pushes and pulls go on meanwhile.
#include "vault/key_rotation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "storage/barrier.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class KeyRotationTest : public VaultTest {
 protected:
  void UploadSome(int n) {
    std::mt19937_64 rng(n);
    for (int i = 0; i < n; ++i) {
      data_.push_back(RandomBytes(2 * kChunk + 11 * i, rng));
      ASSERT_THAT(Upload(Name(data_.size() - 1), data_.back()), IsOk());
    }
  }
  static std::string Name(size_t i) { return "r/m" + std::to_string(i); }
  void ExpectEveryVersionPullsIdentical() {
    for (size_t i = 0; i < data_.size(); ++i)
      EXPECT_TRUE(Fetch(Name(i)).bytes == data_[i]) << Name(i);
  }
  mv::KeyRotationStatus Status() {
    absl::StatusOr<mv::KeyRotationStatus> s = vault_->key_rotation().Status();
    EXPECT_THAT(s, IsOk());
    return s.ok() ? *s : mv::KeyRotationStatus{};
  }
  std::vector<uint32_t> Versions() {
    std::vector<uint32_t> out;
    for (const mv::KeyVersionUse& v : Status().versions)
      out.push_back(v.version);
    return out;
  }
  // With the vault closed: the keyring version of every sealed record.
  std::set<uint32_t> StoredRecordVersions() {
    std::set<uint32_t> versions;
    for (const char* db : mv::Dbs::kNames) {
      if (std::string_view(db) == "chunks") continue;  // sealed by DEKs
      EXPECT_THAT(EditStored(
                      [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                        return txn.Scan(
                            env.Db(db), "", "",
                            [&](std::string_view, std::string_view v) {
                              if (auto kv = mv::StorageBarrier::KeyVersionOf(v))
                                versions.insert(kv);
                              return true;
                            });
                      },
                      /*through_barrier=*/false),
                  IsOk());
    }
    return versions;
  }
  std::vector<mv::AuditRecord> KeyRecords() {
    std::vector<mv::AuditRecord> out;
    EXPECT_THAT(vault_->audit_log().ScanRecords(
                    1,
                    [&](const mv::AuditRecord& r, std::string_view) {
                      if (r.resource.starts_with("keyring:")) out.push_back(r);
                      return true;
                    }),
                IsOk());
    return out;
  }
  mv::AuditRecord RotateRecord() {
    mv::AuditRecord r;
    r.method = "/modelvault.v1.AdminService/RotateKey";
    r.principal = "root";
    r.decision = mv::AuditDecision::kAllowed;
    return r;
  }

  std::vector<std::string> data_;
};

TEST_F(KeyRotationTest, AFreshVaultHasOneVersionProtectingEverything) {
  UploadSome(2);
  mv::KeyRotationStatus s = Status();
  ASSERT_EQ(s.versions.size(), 1u);
  EXPECT_EQ(s.versions[0].version, 1u);
  EXPECT_TRUE(s.versions[0].current);
  EXPECT_EQ(s.versions[0].data_keys, 2u);
  EXPECT_EQ(s.versions[0].named_keys, 3u);
  EXPECT_GT(s.versions[0].records, 10u);
  EXPECT_FALSE(s.running);
}

TEST_F(KeyRotationTest, RotationMovesEverythingAndRetiresTheOldVersion) {
  UploadSome(3);
  const std::string token = AddPrincipal("alice", {});
  auto rotated = vault_->key_rotation().Rotate(nullptr);
  ASSERT_THAT(rotated, IsOk());
  EXPECT_EQ(*rotated, 2u);
  ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  mv::KeyRotationStatus s = Status();
  ASSERT_EQ(s.versions.size(), 1u);
  EXPECT_EQ(s.versions[0].version, 2u);
  EXPECT_EQ(s.versions[0].data_keys, 3u);
  EXPECT_EQ(s.versions[0].named_keys, 3u);
  ExpectEveryVersionPullsIdentical();
  EXPECT_THAT(Login(token), IsOk());
  Reopen();
  ExpectEveryVersionPullsIdentical();
  EXPECT_THAT(Login(token), IsOk());
  EXPECT_THAT(vault_->Verify()->problems, IsEmpty());
  CloseVault();
  EXPECT_THAT(StoredRecordVersions(), ElementsAre(2u));
  std::unique_ptr<mv::KeyStore> keys = OpenKeyStore();
  EXPECT_FALSE(keys->ring()->Has(1));
}

TEST_F(KeyRotationTest, NewWritesUseTheNewVersionAtOnce) {
  UploadSome(1);
  ASSERT_THAT(vault_->key_rotation().Rotate(nullptr), IsOk());
  vault_->key_rotation().Stop();  // the job does not run
  UploadSome(1);
  const mv::VersionInfo info = *vault_->catalog().GetVersion(Name(1));
  EXPECT_EQ(info.key_version, 2u);
  EXPECT_EQ(vault_->catalog().GetVersion(Name(0))->key_version, 1u);
  ExpectEveryVersionPullsIdentical();
}

TEST_F(KeyRotationTest, TheJobResumesAfterARestartMidway) {
  UploadSome(3);
  CloseVault();
  {  // a rotation whose job died at once: everything still under 1
    std::unique_ptr<mv::KeyStore> keys = OpenKeyStore();
    ASSERT_THAT(keys->Rotate(0), IsOk());
    ASSERT_THAT(keys->Rewrap({1}), IsOk());  // it got one data key done
  }
  Reopen();
  mv::KeyRotationStatus s = Status();
  ASSERT_EQ(s.versions.size(), 2u);
  EXPECT_GT(s.versions[0].total(), 0u);
  EXPECT_EQ(s.versions[1].data_keys, 1u);
  vault_->key_rotation().Resume();
  ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  EXPECT_THAT(Versions(), ElementsAre(2u));
  ExpectEveryVersionPullsIdentical();
}

TEST_F(KeyRotationTest, ARetiredVersionOpensNothingItOnceSealed) {
  UploadSome(1);
  CloseVault();
  std::string old_token_key;
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                    auto v = txn.Get(env.Db("meta"), "token_key");
                    if (!v.ok() || !*v) return absl::InternalError("none");
                    old_token_key = std::string(**v);
                    return absl::OkStatus();
                  },
                  /*through_barrier=*/false),
              IsOk());
  Reopen();
  ASSERT_THAT(vault_->key_rotation().Rotate(nullptr), IsOk());
  ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  CloseVault();
  // The old sealed record put back: version 1 is gone, so it fails.
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                    return txn.Put(env.Db("meta"), "token_key", old_token_key);
                  },
                  /*through_barrier=*/false),
              IsOk());
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("token_key")));
}

TEST_F(KeyRotationTest, RotationAndRetirementAreOnRecord) {
  mv::AuditRecord record = RotateRecord();
  ASSERT_THAT(vault_->key_rotation().Rotate(&record), IsOk());
  ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  std::vector<mv::AuditRecord> records = KeyRecords();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].resource, "keyring:2");
  EXPECT_EQ(records[0].method, record.method);
  EXPECT_EQ(records[1].resource, "keyring:1");
  EXPECT_THAT(records[1].reason, HasSubstr("retired"));
  EXPECT_THAT(Status().retired, ElementsAre(1u));
}

TEST_F(KeyRotationTest, PushesAndPullsGoOnWhileTwoRotationsRun) {
  UploadSome(4);
  std::atomic<bool> stop{false};
  std::atomic<int> pushed{0}, bad_pulls{0};
  std::thread pusher([&] {
    std::mt19937_64 rng(99);
    for (int i = 0; !stop; ++i) {
      const std::string data = RandomBytes(kChunk + i, rng);
      if (Upload("r/live" + std::to_string(i), data).ok()) ++pushed;
    }
  });
  std::thread puller([&] {
    for (size_t i = 0; !stop; ++i) {
      const size_t n = i % data_.size();
      if (Fetch(Name(n)).bytes != data_[n]) ++bad_pulls;
    }
  });
  for (int round = 0; round < 2; ++round) {
    ASSERT_THAT(vault_->key_rotation().Rotate(nullptr), IsOk());
    ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  }
  stop = true;
  pusher.join();
  puller.join();
  EXPECT_EQ(bad_pulls, 0);
  EXPECT_GT(pushed, 0);
  ASSERT_THAT(vault_->key_rotation().RunToCompletion(), IsOk());
  EXPECT_THAT(Versions(), ElementsAre(3u));
  ExpectEveryVersionPullsIdentical();
  EXPECT_THAT(vault_->Verify()->problems, IsEmpty());
}

}  // namespace
}  // namespace mvtesting
