// The vault's audit log (issue [audit]): the signing key made at init, the
// record a mutation appends in its own transaction (fail closed through the
// AuditLog fault seam), the witness that detects a restored data dir, the
// chain check in Verify and the audited offline root-token recovery.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "audit/witness.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

mv::UploadSpec Spec(const std::string& name) {
  mv::UploadSpec spec;
  spec.name = name;
  return spec;
}

mv::AuditRecord Request(const std::string& request_id) {
  mv::AuditRecord r;
  r.principal = "root";
  r.method = "/modelvault.v1.ArtifactService/SetAlias";
  r.decision = mv::AuditDecision::kAllowed;
  r.request_id = request_id;
  return r;
}

class VaultAuditTest : public VaultTest {
 protected:
  void SetUp() override {
    audit_options_.fault = [this]() -> absl::Status {
      if (broken_) return absl::InternalError("injected");
      return absl::OkStatus();
    };
    VaultTest::SetUp();
  }
  mv::AuditLog& log() { return vault_->audit_log(); }
  uint64_t Head() { return log().ReadHead()->sequence; }
  // The records with `request_id`.
  std::vector<mv::AuditRecord> Records(const std::string& request_id) {
    std::vector<mv::AuditRecord> out;
    EXPECT_THAT(
        log().ScanRecords(1,
                          [&](const mv::AuditRecord& r, std::string_view) {
                            if (r.request_id == request_id) out.push_back(r);
                            return true;
                          }),
        IsOk());
    return out;
  }

  std::atomic<bool> broken_{false};
};

TEST_F(VaultAuditTest, InitMakesASigningKeyThatSurvivesReopening) {
  const std::string key = log().public_key();
  EXPECT_EQ(key.size(), 32u);
  EXPECT_EQ(Head(), 0u);
  Reopen();
  EXPECT_EQ(log().public_key(), key);
}

TEST_F(VaultAuditTest, AMutationAppendsItsRecordNamingTheResolvedVersion) {
  ASSERT_THAT(Upload("acme/m", "weights"), IsOk());
  mv::AuditRecord r = Request("set");
  ASSERT_THAT(vault_->catalog().SetAlias("acme/m", "prod", &r), IsOk());
  std::vector<mv::AuditRecord> got = Records("set");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].resource, "acme/m@1");
  EXPECT_GT(got[0].time_unix_ms, 0);
  r.request_id = "delete";
  ASSERT_THAT(vault_->catalog().DeleteVersion("acme/m@prod", &r), IsOk());
  ASSERT_EQ(Records("delete").size(), 1u);
  EXPECT_EQ(Records("delete")[0].resource, "acme/m@1");
}

TEST_F(VaultAuditTest, AnUploadAndItsRecordArePublishedTogether) {
  auto writer = vault_->catalog().BeginUpload(Spec("acme/up"), root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("0123456789"), IsOk());
  mv::AuditRecord r = Request("upload");
  ASSERT_THAT((*writer)->Commit("", &r), IsOk());
  std::vector<mv::AuditRecord> got = Records("upload");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].resource, "acme/up@1");
  EXPECT_EQ(got[0].bytes, 10u);
}

TEST_F(VaultAuditTest, WhenTheRecordCannotBeWrittenNothingChanges) {
  ASSERT_THAT(Upload("acme/m", "weights"), IsOk());
  const uint64_t head = Head();
  broken_ = true;
  mv::AuditRecord r = Request("refused");
  EXPECT_THAT(vault_->catalog().SetAlias("acme/m@1", "prod", &r),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("audit log write failed")));
  EXPECT_THAT(vault_->catalog().DeleteVersion("acme/m@1", &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  mv::PrincipalInfo eve;
  eve.name = "eve";
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(), eve, &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  mv::TokenSpec spec;
  spec.principal = "root";
  EXPECT_THAT(vault_->identity().CreateToken(mv::RootCaller(), spec, &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_THAT(vault_->identity().PutPolicy(
                  mv::RootCaller(), "p",
                  AllowJson(R"(["acme/**"])", R"(["read"])"), &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  auto writer = vault_->catalog().BeginUpload(Spec("acme/m"), root_);
  ASSERT_THAT(writer, IsOk());
  ASSERT_THAT((*writer)->Append("new"), IsOk());
  EXPECT_THAT((*writer)->Commit("", &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  writer->reset();

  broken_ = false;
  EXPECT_EQ(Head(), head);
  absl::StatusOr<mv::VersionInfo> v = vault_->catalog().GetVersion("acme/m");
  ASSERT_THAT(v, IsOk());
  EXPECT_EQ(v->number, 1u) << "the refused upload was not published";
  EXPECT_TRUE(v->aliases.empty());
  EXPECT_THAT(vault_->identity().GetPrincipal("eve"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_THAT(vault_->identity().GetPolicy("p"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_EQ(vault_->identity().ListTokens("root").size(), 1u);
  EXPECT_THAT(log().VerifyStored(), IsOk());
}

TEST_F(VaultAuditTest, ADownloadStartRecordIsCommittedWithOrWithoutABudget) {
  mv::Decision allowed;
  allowed.allowed = true;
  mv::AuditRecord r = Request("start");
  ASSERT_THAT(vault_->identity().ChargeDownload(root_, allowed, 10, &r),
              IsOk());
  EXPECT_EQ(Records("start").size(), 1u);
  broken_ = true;
  r.request_id = "refused";
  EXPECT_THAT(vault_->identity().ChargeDownload(root_, allowed, 10, &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
}

TEST_F(VaultAuditTest, VerifyChecksTheAuditChain) {
  mv::AuditRecord r = Request("x");
  for (int i = 0; i < 3; ++i) ASSERT_THAT(log().Commit(r), IsOk());
  absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
  ASSERT_THAT(report, IsOk());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_EQ(report->audit_records, 3u);
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                std::string key;
                mv::AppendBigEndian64(&key, 2);
                auto stored = txn.Get(env.Db("audit"), key);
                if (!stored.ok() || !*stored)
                  return absl::InternalError("record 2 missing");
                std::string edited(**stored);
                edited[20] ^= 1;
                return txn.Put(env.Db("audit"), key, edited);
              }),
              IsOk());
  Reopen();
  report = vault_->Verify();
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_THAT(report->problems[0], HasSubstr("audit log: audit sequence 2"));
}

// Verify's cross-check against the audit log (vault/verify_audit.h): a
// writer of the data file without the key cannot forge a record, but can
// put back an older copy of one; the log says it was removed since.
class VaultAuditCrossCheckTest : public VaultAuditTest {
 protected:
  using Entries = std::vector<std::pair<std::string, std::string>>;
  // With the vault closed: `db` as stored (sealed), to put back later.
  Entries CopyStored(const char* db) {
    Entries out;
    EXPECT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                      return txn.Scan(env.Db(db), "", "", [&](auto k, auto v) {
                        out.emplace_back(k, v);
                        return true;
                      });
                    },
                    /*through_barrier=*/false),
                IsOk());
    return out;
  }
  void PutBack(const char* db, const Entries& entries) {
    ASSERT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                      for (const auto& [k, v] : entries)
                        MV_RETURN_IF_ERROR(txn.Put(env.Db(db), k, v));
                      return absl::OkStatus();
                    },
                    /*through_barrier=*/false),
                IsOk());
  }
  std::vector<std::string> Problems() {
    absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
    EXPECT_THAT(report, IsOk());
    return report.ok() ? report->problems : std::vector<std::string>{};
  }
};

TEST_F(VaultAuditCrossCheckTest, ARevokedTokenPutBackIsNamed) {
  mv::AuditRecord create = Request("create");
  create.method = "/modelvault.v1.AdminService/CreateToken";
  AddPrincipal("alice", {});
  mv::TokenSpec spec;
  spec.principal = "alice";
  absl::StatusOr<mv::IssuedToken> issued =
      vault_->identity().CreateToken(root_, spec, &create);
  ASSERT_THAT(issued, IsOk());
  const std::string accessor = issued->info.accessor;
  CloseVault();
  const Entries before = CopyStored("tokens");
  Reopen();
  mv::AuditRecord revoke = Request("revoke");
  revoke.method = "/modelvault.v1.AdminService/RevokeToken";
  revoke.resource = "token:" + accessor;
  ASSERT_THAT(vault_->identity().RevokeToken(root_, accessor, &revoke), IsOk());
  EXPECT_THAT(Problems(), ::testing::IsEmpty());
  CloseVault();
  PutBack("tokens", before);
  Reopen();
  EXPECT_THAT(Problems(),
              ::testing::Contains(HasSubstr(
                  "token " + accessor + " of alice: removed by audit record " +
                  std::to_string(Records("revoke").at(0).sequence) +
                  " but stored (an older copy of its record was put back)")));
}

TEST_F(VaultAuditCrossCheckTest, ADeletedVersionPutBackIsNamed) {
  ASSERT_THAT(Upload("acme/m", "weights"), IsOk());
  CloseVault();
  const Entries before = CopyStored("versions");
  Reopen();
  mv::AuditRecord del = Request("delete");
  del.method = "/modelvault.v1.ArtifactService/DeleteVersion";
  ASSERT_THAT(vault_->catalog().DeleteVersion("acme/m@1", &del), IsOk());
  CloseVault();
  PutBack("versions", before);
  Reopen();
  EXPECT_THAT(Problems(), ::testing::Contains(
                              HasSubstr("acme/m@1: removed by audit record")));
}

TEST_F(VaultAuditCrossCheckTest, AVersionWithoutItsUploadRecordIsNamed) {
  ASSERT_THAT(log().Commit(Request("first")), IsOk());
  clock_.Advance(absl::Seconds(1));
  // Published with no audit record, as a forged or replayed record would be.
  ASSERT_THAT(Upload("acme/ghost", "weights"), IsOk());
  EXPECT_THAT(Problems(),
              ::testing::ElementsAre(HasSubstr(
                  "acme/ghost@1: stored, but the audit log has no record "
                  "of its creation")));
  // A version whose upload was audited is fine.
  mv::AuditRecord upload = Request("upload");
  upload.method = "/modelvault.v1.ArtifactService/Upload";
  ASSERT_THAT(log().Commit([&] {
    mv::AuditRecord r = upload;
    r.resource = "acme/ghost@1";
    return r;
  }()),
              IsOk());
  EXPECT_THAT(Problems(), ::testing::IsEmpty());
}

TEST_F(VaultAuditTest, OfflineRootTokenRecoveryIsAudited) {
  CloseVault();
  ASSERT_THAT(mv::Vault::IssueRootToken(Options(), Kek()), IsOk());
  Reopen();
  std::vector<std::string> methods;
  ASSERT_THAT(
      log().ScanRecords(1,
                        [&](const mv::AuditRecord& r, std::string_view) {
                          methods.push_back(r.method + " " + r.action + " " +
                                            r.resource.substr(0, 6));
                          return true;
                        }),
      IsOk());
  EXPECT_THAT(methods, ::testing::ElementsAre(
                           "modelvaultd root-token admin:policies princi",
                           "modelvaultd root-token admin:tokens token:"));
}

// ---- the witness: rollback detection ----

class WitnessTest : public VaultTest {
 protected:
  void SetUp() override {
    audit_options_.witness_path = dir_.Sub("data.audit-witness");
    VaultTest::SetUp();
  }
  void Commit(int n, const std::string& request_id = "w") {
    for (int i = 0; i < n; ++i)
      ASSERT_THAT(vault_->audit_log().Commit(Request(request_id)), IsOk());
  }
  std::string Copy(const std::string& from) {
    const std::string to = dir_.Sub("backup-" + std::to_string(++copies_));
    std::filesystem::copy(from, to, std::filesystem::copy_options::recursive);
    return to;
  }
  void Restore(const std::string& backup) {
    std::filesystem::remove_all(Options().data_dir);
    std::filesystem::copy(backup, Options().data_dir,
                          std::filesystem::copy_options::recursive);
  }
  // Two records and a close, a copy of the data dir, three more records and
  // a close, then the copy put back: the vault closed, its witness ahead.
  void RollBack() {
    Commit(2);
    CloseVault();
    const std::string old_copy = Copy(Options().data_dir);
    Reopen();
    Commit(3);
    CloseVault();
    Restore(old_copy);
  }
  std::string ReadWitness() {
    std::ifstream in(audit_options_.witness_path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  int copies_ = 0;
};

TEST_F(WitnessTest, EveryCheckpointIsAppendedToTheWitness) {
  Commit(2);
  CloseVault();  // the final checkpoint
  const std::string witness = ReadWitness();
  EXPECT_EQ(std::count(witness.begin(), witness.end(), '\n'), 1);
  EXPECT_THAT(witness, HasSubstr(R"("type":"checkpoint")"));
  EXPECT_THAT(witness, HasSubstr(R"("sequence":2)"));
  Reopen();
  Commit(1);
  CloseVault();
  EXPECT_THAT(ReadWitness(), HasSubstr(R"("sequence":3)"));
}

TEST_F(WitnessTest, ARestoredOlderDataDirIsRefused) {
  RollBack();
  EXPECT_THAT(OpenVault(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("audit rollback detected")));
}

TEST_F(WitnessTest, ADataDirWithADifferentHistoryIsRefused) {
  RollBack();
  // Another history grows past the witness: same sequences, other records.
  audit_options_.witness_path = "";
  Reopen();
  Commit(5, "other");
  CloseVault();
  audit_options_.witness_path = dir_.Sub("data.audit-witness");
  EXPECT_THAT(OpenVault(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("disagrees with the database")));
}

TEST_F(WitnessTest, ATornLastLineIsDroppedAndAnotherVaultsWitnessRefused) {
  Commit(1);
  CloseVault();
  {
    std::ofstream out(audit_options_.witness_path, std::ios::app);
    out << R"({"type":"checkpoint","v":1,"seq)";  // a crash mid-append
  }
  Reopen();
  Commit(1);
  CloseVault();
  const std::string witness = ReadWitness();
  EXPECT_EQ(witness.find("\"seq)"), std::string::npos);
  EXPECT_EQ(std::count(witness.begin(), witness.end(), '\n'), 2);

  // A witness signed by another vault's key is not this vault's.
  TempDir other;
  mv::VaultOptions options = Options();
  options.data_dir = other.Sub("data");
  options.audit.witness_path = audit_options_.witness_path;
  ASSERT_THAT(mv::Vault::Init(options, Kek()), IsOk());
  EXPECT_THAT(mv::Vault::Open(options, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a checkpoint signed")));
}

// True if the log holds a witness-reset record.
bool HasResetRecord(const mv::AuditLog& log) {
  bool found = false;
  EXPECT_THAT(log.ScanRecords(1,
                              [&](const mv::AuditRecord& r, std::string_view) {
                                found |= r.method ==
                                         "modelvaultd serve "
                                         "--reset-audit-witness";
                                return true;
                              }),
              IsOk());
  return found;
}

TEST_F(WitnessTest, AMissingWitnessIsRefusedOnceTheLogHasCheckpoints) {
  Commit(2);
  CloseVault();
  std::filesystem::remove(audit_options_.witness_path);
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("is missing, but the audit log has "
                                       "checkpoints up to sequence 2"),
                             HasSubstr("--reset-audit-witness"))));
  EXPECT_FALSE(std::filesystem::exists(audit_options_.witness_path));
  // An inspecting process (verify) refuses too, and creates nothing.
  audit_options_.inspect_only = true;
  audit_options_.reset_witness = true;  // not for an inspector
  EXPECT_THAT(OpenVault(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("is missing")));
  EXPECT_FALSE(std::filesystem::exists(audit_options_.witness_path));
  // A deliberate reset starts a new witness from the log, on record.
  audit_options_.inspect_only = false;
  Reopen();
  EXPECT_TRUE(HasResetRecord(vault_->audit_log()));
  EXPECT_THAT(ReadWitness(), HasSubstr(R"("sequence":2)"));
}

TEST_F(WitnessTest, ATruncatedWitnessIsRefusedAndCanBeResetDeliberately) {
  Commit(1);
  Reopen();
  Commit(1);
  CloseVault();
  std::string witness = ReadWitness();
  ASSERT_EQ(std::count(witness.begin(), witness.end(), '\n'), 2);
  witness.resize(witness.find('\n') + 1);  // drop the newest line
  std::ofstream(audit_options_.witness_path, std::ios::trunc) << witness;
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("it was truncated or replaced by an older "
                                 "copy")));
  audit_options_.reset_witness = true;
  Reopen();
  EXPECT_TRUE(HasResetRecord(vault_->audit_log()));
  bool moved_aside = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
    moved_aside |= entry.path().filename().string().starts_with(
        "data.audit-witness.reset-");
  EXPECT_TRUE(moved_aside);
}

TEST_F(WitnessTest, AnEditedEarlierLineIsRefused) {
  Commit(1);
  Reopen();
  Commit(1);
  CloseVault();
  std::string witness = ReadWitness();
  const size_t head = witness.find(R"("head":")") + 8;
  witness[head] = witness[head] == 'a' ? 'b' : 'a';  // line 1 of 2
  std::ofstream(audit_options_.witness_path, std::ios::trunc) << witness;
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("line 1 is not a checkpoint signed")));
}

TEST_F(WitnessTest, ARestoredOlderDataDirCanBeResetDeliberately) {
  RollBack();
  audit_options_.reset_witness = true;
  Reopen();
  EXPECT_TRUE(HasResetRecord(vault_->audit_log()));
  Commit(1);
  CloseVault();
  audit_options_.reset_witness = false;
  Reopen();  // the new witness follows the restored history
}

TEST(WitnessPathTest, DefaultsBesideTheDataDirAndMustStayOutsideIt) {
  EXPECT_EQ(mv::DefaultWitnessPath("/var/lib/mv/data/"),
            "/var/lib/mv/data.audit-witness");
  EXPECT_EQ(mv::DefaultWitnessPath("vault"), "vault.audit-witness");
  EXPECT_THAT(mv::CheckWitnessOutside("/v/data.audit-witness", "/v/data"),
              IsOk());
  EXPECT_THAT(mv::CheckWitnessOutside("/v/data/w", "/v/data"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must not be inside")));
  EXPECT_THAT(mv::CheckWitnessOutside("/v/data/../data/sub/w", "/v/data/"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

}  // namespace
}  // namespace mvtesting
