// The storage barrier through the vault (issue [security] items 3 and 4): a
// writer of the data file without the key cannot edit, move or forge a
// record; the vault refuses to act on one and Verify names it; format-1
// vaults are migrated once. Deleted keys: key_recovery_test.cc.
#include "storage/barrier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/master_key.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::StatusCode kDataLoss = absl::StatusCode::kDataLoss;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class BarrierTest : public VaultTest {
 protected:
  // The stored (sealed) bytes of (db, key), without the key.
  std::string Stored(const char* db, const std::string& key) {
    std::string out;
    EXPECT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                      MV_ASSIGN_OR_RETURN(auto v, txn.Get(env.Db(db), key));
                      if (v) out = std::string(*v);
                      return absl::OkStatus();
                    },
                    false),
                IsOk());
    return out;
  }
  void PutStored(const char* db, const std::string& key,
                 const std::string& value) {
    ASSERT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                      return txn.Put(env.Db(db), key, value);
                    },
                    false),
                IsOk());
  }
  // The reasons of the log's "modelvaultd migrate" records, in order.
  std::vector<std::string> MigrationReasons() {
    std::vector<std::string> reasons;
    EXPECT_THAT(vault_->audit_log().ScanRecords(
                    1,
                    [&](const mv::AuditRecord& r, std::string_view) {
                      if (r.method == "modelvaultd migrate")
                        reasons.push_back(r.reason);
                      return true;
                    }),
                IsOk());
    return reasons;
  }
  std::vector<std::string> VerifyProblems() {
    Reopen();
    absl::StatusOr<mv::VerifyReport> report = vault_->Verify();
    EXPECT_THAT(report, IsOk());
    return report.ok() ? report->problems : std::vector<std::string>{};
  }
};

TEST_F(BarrierTest, NoPlaintextOfAnyRecordIsInTheDataFile) {
  PutPolicy("hidden", AllowJson(R"(["acme/glob-marker-*"])", R"(["read"])"));
  AddPrincipal("alice", {"hidden"}, "uri:spiffe://acme/cert-marker");
  mv::UploadSpec spec;
  spec.name = "acme/x";
  spec.labels = {{"stage", "label-marker-value"}};
  spec.aliases = {"prod"};
  ASSERT_THAT(Upload(spec, "some bytes"), IsOk());
  CloseVault();
  const std::string file = ReadFile(Options().data_dir + "/data.mdb");
  for (const char* marker :
       {"glob-marker", "label-marker-value", "xchacha20poly1305"}) {
    EXPECT_EQ(file.find(marker), std::string::npos) << marker;
  }
  // Keys stay in clear (documented in docs/SECURITY.md): names, the
  // certificate identity, policy names.
  for (const char* key : {"acme/x", "spiffe://acme/cert-marker", "hidden"})
    EXPECT_NE(file.find(key), std::string::npos) << key;
}

TEST_F(BarrierTest, SwappedVersionRecordsAreDataLossAndVerifyNamesThem) {
  ASSERT_THAT(Upload("acme/a", "aaaa"), IsOk());
  ASSERT_THAT(Upload("acme/b", "bbbb"), IsOk());
  CloseVault();
  const std::string a = mv::VersionKey("acme/a", 1);
  const std::string b = mv::VersionKey("acme/b", 1);
  const std::string sealed_a = Stored("versions", a);
  PutStored("versions", a, Stored("versions", b));
  PutStored("versions", b, sealed_a);
  Reopen();
  EXPECT_THAT(vault_->catalog().GetVersion("acme/a@1"),
              StatusIs(kDataLoss, HasSubstr("stored record versions/")));
  EXPECT_THAT(Fetch("acme/b@1").status, StatusIs(kDataLoss, ::testing::_));
  std::vector<std::string> problems = VerifyProblems();
  ASSERT_FALSE(problems.empty());
  EXPECT_THAT(problems[0], HasSubstr("versions/\"acme/a"));
}

TEST_F(BarrierTest, ATokenPointedAtRootByHandFailsToAuthenticate) {
  const std::string token = AddPrincipal("mallory", {});
  CloseVault();
  // Take root's token record and store it under mallory's token hash: the
  // record names root, but it was sealed for another key.
  std::vector<std::pair<std::string, std::string>> stored;
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                    return txn.Scan(
                        env.Db("tokens"), "", "",
                        [&](std::string_view k, std::string_view v) {
                          stored.emplace_back(k, v);
                          return true;
                        });
                  },
                  false),
              IsOk());
  ASSERT_EQ(stored.size(), 2u);
  PutStored("tokens", stored[0].first, stored[1].second);
  PutStored("tokens", stored[1].first, stored[0].second);
  Reopen();
  EXPECT_THAT(Login(token), StatusIs(kDataLoss, HasSubstr("tokens/")));
  EXPECT_THAT(Login(root_token_), StatusIs(kDataLoss, ::testing::_));
}

TEST_F(BarrierTest, AnEditedPolicyStopsTheVaultFromOpening) {
  PutPolicy("readers", AllowJson(R"(["acme/*"])", R"(["read"])"));
  CloseVault();
  std::string sealed = Stored("policies", "readers");
  sealed[sealed.size() - 20] ^= 0x20;
  PutStored("policies", "readers", sealed);
  EXPECT_THAT(OpenVault(),
              StatusIs(kDataLoss, HasSubstr("policies/\"readers")));
  // A plaintext policy written by hand is no better.
  PutStored("policies", "readers",
            R"({"rules":[{"actions":["read"],"artifacts":["**"],)"
            R"("effect":"allow"}]})");
  EXPECT_THAT(OpenVault(), StatusIs(kDataLoss, HasSubstr("policies/")));
}

TEST_F(BarrierTest, VerifyNamesAnAuthenticTokenRecordThatDoesNotDecode) {
  AddPrincipal("alice", {});
  CloseVault();
  // What a stored out-of-range expiry used to leave: a token record that
  // authenticates but does not decode (DeletePrincipal then failed on it).
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("tokens"), std::string(32, 'h'), "\x02");
              }),
              IsOk());
  std::vector<std::string> problems = VerifyProblems();
  ASSERT_THAT(problems, ::testing::SizeIs(1));
  EXPECT_THAT(problems[0], HasSubstr("token record hhhh"));
}

TEST_F(BarrierTest, ARecordFromAnotherVaultDoesNotOpen) {
  AddPrincipal("alice", {});
  CloseVault();
  const std::string alice = Stored("principals", "alice");
  // A second vault under the same master key.
  mv::VaultOptions other = Options();
  other.data_dir = dir_.Sub("other");
  ASSERT_THAT(mv::Vault::Init(other, Kek()), IsOk());
  auto env =
      mv::LmdbEnv::Open({other.data_dir, other.map_size}, mv::Dbs::kNames);
  ASSERT_THAT(env, IsOk());
  ASSERT_THAT((*env)->Write([&](mv::WriteTxn& txn) {
    return txn.Put((*env)->Db("principals"), "alice", alice);
  }),
              IsOk());
  env->reset();
  auto vault = mv::Vault::Open(other, Kek());
  ASSERT_THAT(vault, IsOk());
  EXPECT_THAT((*vault)->identity().GetPrincipal("alice"),
              StatusIs(kDataLoss, HasSubstr("principals/\"alice\"")));
}

// Deleted or damaged keys and key check values: key_recovery_test.cc.

TEST_F(BarrierTest, ADeletedVaultIdRefusesToOpen) {
  CloseVault();
  ASSERT_THAT(EditStored(
                  [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                    return txn.Delete(env.Db("meta"), "vault_id");
                  },
                  false),
              IsOk());
  EXPECT_THAT(OpenVault(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("has no vault id")));
}

// ---- Migration from format 1 ----

using MigrationTest = BarrierTest;

TEST_F(MigrationTest, AFormat1VaultIsMigratedOnceAndKeepsEverything) {
  const std::string token = AddPrincipal("alice", {});
  AddPrincipal("cluster", {}, "uri:spiffe://acme/cluster");
  ASSERT_THAT(Upload("acme/x", std::string(10000, 'x')), IsOk());
  CloseVault();
  LowerToFormat1();
  EXPECT_EQ(Stored("principals", "alice").find("\x01\x01"), 0u)
      << "the lowered vault should hold clear records";
  mv::VaultOptions no_migrate = Options();
  no_migrate.migrate = false;
  EXPECT_THAT(mv::Vault::Open(no_migrate, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("modelvaultd migrate")));
  Reopen();
  EXPECT_TRUE(vault_->migrated_on_open());
  EXPECT_EQ(Fetch("acme/x@1").bytes, std::string(10000, 'x'));
  EXPECT_THAT(Login(token), IsOk());
  EXPECT_THAT(vault_->identity().Authenticate(mv::Credentials{
                  std::nullopt, {"uri:spiffe://acme/cluster"}, ""}),
              IsOk());
  EXPECT_THAT(MigrationReasons(),
              ::testing::ElementsAre(
                  "migrated from data format 1 to 4 (storage barrier; "
                  "certificate identities with their kind; the keyring and "
                  "the key file)"));
  EXPECT_THAT(VerifyProblems(), ::testing::IsEmpty());
  Reopen();
  EXPECT_FALSE(vault_->migrated_on_open());
  CloseVault();
  const std::string sealed = Stored("principals", "alice");
  ASSERT_FALSE(sealed.empty());
  EXPECT_EQ(static_cast<uint8_t>(sealed[0]), mv::StorageBarrier::kLayout);
  EXPECT_GE(sealed.size(), mv::StorageBarrier::kOverhead);
}

TEST_F(MigrationTest, AFormat2VaultGetsTheKindOfEveryCertificateIdentity) {
  AddPrincipal("cluster", {}, "uri:spiffe://acme/cluster");
  AddPrincipal("alice", {}, "cn:alice");
  AddPrincipal("bob", {});
  // Stored bare as "a" and "cn:a": the first's new key is the second's old.
  AddPrincipal("short", {}, "cn:a");
  AddPrincipal("spelled", {}, "cn:cn:a");
  CloseVault();
  LowerToFormat2();
  mv::VaultOptions no_migrate = Options();
  no_migrate.migrate = false;
  EXPECT_THAT(mv::Vault::Open(no_migrate, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("has format 2"),
                             HasSubstr("modelvaultd migrate"))));
  Reopen();
  EXPECT_TRUE(vault_->migrated_on_open());
  const auto as = [&](std::string identity) {
    return vault_->identity().Authenticate(
        mv::Credentials{std::nullopt, {std::move(identity)}, ""});
  };
  // Matched as format 2 matched them, and by nothing of the other kind.
  EXPECT_THAT(as("uri:spiffe://acme/cluster"),
              IsOkAndHolds(testing::Field(&mv::Principal::name, "cluster")));
  EXPECT_THAT(as("cn:alice"),
              IsOkAndHolds(testing::Field(&mv::Principal::name, "alice")));
  EXPECT_THAT(as("cn:a"),
              IsOkAndHolds(testing::Field(&mv::Principal::name, "short")));
  EXPECT_THAT(as("cn:cn:a"),
              IsOkAndHolds(testing::Field(&mv::Principal::name, "spelled")));
  EXPECT_THAT(as("cn:spiffe://acme/cluster"), Not(IsOk()));
  EXPECT_THAT(as("uri:alice"), Not(IsOk()));
  EXPECT_THAT(vault_->identity().GetPrincipal("cluster"),
              IsOkAndHolds(testing::Field(&mv::PrincipalInfo::cert_identity,
                                          "uri:spiffe://acme/cluster")));
  EXPECT_THAT(
      vault_->identity().GetPrincipal("bob"),
      IsOkAndHolds(testing::Field(&mv::PrincipalInfo::cert_identity, "")));
  EXPECT_THAT(MigrationReasons(),
              ::testing::ElementsAre("migrated from data format 2 to 4 "
                                     "(certificate identities with their "
                                     "kind; the keyring and the key file)"));
  EXPECT_THAT(VerifyProblems(), ::testing::IsEmpty());
  // The principal can still be removed (its index entry moved with it).
  EXPECT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "cluster"),
              IsOk());
  EXPECT_THAT(as("uri:spiffe://acme/cluster"), Not(IsOk()));
  Reopen();
  EXPECT_FALSE(vault_->migrated_on_open());
}

TEST_F(MigrationTest, AFormat3VaultMovesEveryKeyIntoTheKeyring) {
  const std::string data(3 * kChunk + 5, 'x');
  ASSERT_THAT(Upload("m/a", data), IsOk());
  CloseVault();
  LowerToFormat3();
  const std::string key_file = Options().data_dir + "/keys.mvk";
  ASSERT_FALSE(std::filesystem::exists(key_file));
  for (auto& [k, v] : DumpRaw("versions"))
    EXPECT_FALSE(mv::DecodeVersion(v)->wrapped_dek.empty());
  // A key file left by a migration that did not commit is replaced.
  std::ofstream(key_file) << "junk";
  Reopen();
  EXPECT_TRUE(vault_->migrated_on_open());
  EXPECT_EQ(Fetch("m/a").bytes, data);
  EXPECT_THAT(MigrationReasons(),
              ::testing::ElementsAre("migrated from data format 3 to 4 (the "
                                     "keyring and the key file)"));
  EXPECT_THAT(VerifyProblems(), ::testing::IsEmpty());
  CloseVault();
  for (auto& [k, v] : DumpRaw("versions")) {
    EXPECT_TRUE(mv::DecodeVersion(v)->wrapped_dek.empty());
    EXPECT_EQ(mv::DecodeVersion(v)->key_version, 0u);
  }
  EXPECT_EQ(static_cast<uint8_t>(Stored("meta", "token_key")[0]),
            mv::StorageBarrier::kLayout);
  // The old master-key wrapping is gone: a layout-1 barrier opens nothing.
  auto legacy = *mv::StorageBarrier::NewLegacy(Kek(), StoredVaultId());
  std::string opened;
  EXPECT_FALSE(
      legacy->Open("meta", "token_key", Stored("meta", "token_key"), &opened)
          .ok());
  Reopen();
  EXPECT_FALSE(vault_->migrated_on_open());
}

// README: each migration step is one transaction, so a crash (here: a
// record step 2 → 3 cannot decode) leaves the vault at one format or the
// next, never between: step 1 → 2 stays done, step 2 → 3 left nothing.
TEST_F(MigrationTest, AFailedStepLeavesTheVaultAtThePreviousStepsFormat) {
  AddPrincipal("cluster", {}, "uri:spiffe://acme/cluster");
  CloseVault();
  LowerToFormat1();
  PutStored("principals", "broken", "\x09 not a principal record");
  EXPECT_THAT(OpenVault(), Not(IsOk()));
  // Format 2, whole: every record sealed behind the barrier ...
  EXPECT_EQ(static_cast<uint8_t>(Stored("principals", "cluster")[0]),
            mv::StorageBarrier::kLegacyLayout);
  std::map<std::string, std::string> meta;
  for (auto& [k, v] : DumpRaw("meta")) meta[k] = v;
  EXPECT_EQ(meta["format"], mv::IdKey(2));
  // ... and nothing of step 2 → 3: the identity index is still bare.
  std::vector<std::string> identities;
  for (auto& [k, v] : DumpRaw("cert_identities")) identities.push_back(k);
  EXPECT_THAT(identities, ::testing::ElementsAre("spiffe://acme/cluster"));
  // Repaired, the next open takes the step it lacks, and the log records the
  // whole way from format 1.
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Delete(env.Db("principals"), "broken");
              }),
              IsOk());
  Reopen();
  EXPECT_TRUE(vault_->migrated_on_open());
  EXPECT_THAT(vault_->identity().Authenticate(mv::Credentials{
                  std::nullopt, {"uri:spiffe://acme/cluster"}, ""}),
              IsOk());
  EXPECT_THAT(MigrationReasons(),
              ::testing::ElementsAre(
                  "migrated from data format 1 to 4 (storage barrier; "
                  "certificate identities with their kind; the keyring and "
                  "the key file)"));
  EXPECT_THAT(VerifyProblems(), ::testing::IsEmpty());
}

TEST_F(MigrationTest, AFakedFormat1RecordCannotDowngradeASealedVault) {
  AddPrincipal("alice", {});
  CloseVault();
  // Without the key an attacker cannot make the v1 check value, so setting
  // format 1 and deleting the vault id leaves a vault that will not open.
  ASSERT_THAT(
      EditStored(
          [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
            MV_RETURN_IF_ERROR(txn.Put(env.Db("meta"), "format", mv::IdKey(1)));
            return txn.Delete(env.Db("meta"), "vault_id");
          },
          false),
      IsOk());
  EXPECT_THAT(OpenVault(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("wrong master key")));
}

}  // namespace
}  // namespace mvtesting
