// Security state is never silently replaced (issue [security] item 4): a
// missing or unopenable vault key stops Open with one line naming the key and
// the way back, and only Vault::RegenerateKey (`modelvaultd regenerate-key`)
// replaces one — refusing an intact key, changing nothing when it refuses,
// and recording what it did in the audit log.
#include <gtest/gtest.h>

#include "common/status_macros.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kFailedPrecondition = absl::StatusCode::kFailedPrecondition;

class KeyRecoveryTest : public VaultTest {
 protected:
  // The stored bytes of meta record `key` ("" if absent), vault closed.
  std::string StoredMeta(const std::string& key) {
    std::string out;
    EXPECT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                      MV_ASSIGN_OR_RETURN(auto v, txn.Get(env.Db("meta"), key));
                      if (v) out = std::string(*v);
                      return absl::OkStatus();
                    },
                    false),
                IsOk());
    return out;
  }
  void DeleteMeta(const std::string& key) {
    ASSERT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                      return txn.Delete(env.Db("meta"), key);
                    },
                    false),
                IsOk());
  }
  // Flips one byte of the sealed value: it no longer opens.
  void DamageMeta(const std::string& key) {
    std::string value = StoredMeta(key);
    ASSERT_FALSE(value.empty());
    value[value.size() / 2] ^= 0x01;
    ASSERT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                      return txn.Put(env.Db("meta"), key, value);
                    },
                    false),
                IsOk());
  }
  absl::StatusOr<std::string> Regenerate(mv::VaultKey key) {
    return mv::Vault::RegenerateKey(Options(), Kek(), key);
  }
  // The newest audit record (vault open).
  mv::AuditRecord LastAudit() {
    mv::AuditRecord last;
    EXPECT_THAT(vault_->audit_log().ScanRecordsBackward(
                    0,
                    [&](const mv::AuditRecord& r, std::string_view) {
                      last = r;
                      return false;
                    }),
                IsOk());
    return last;
  }
};

TEST_F(KeyRecoveryTest, AMissingKeyStopsOpenNamingItAndTheWayBack) {
  struct Case {
    const char* meta;
    const char* hint;  // what the one line must tell the operator
  };
  for (const Case& c :
       {Case{"fingerprint_key", "regenerate-key --key fingerprint"},
        Case{"token_key", "regenerate-key --key token"},
        Case{"audit_signing_key", "cannot be regenerated"}}) {
    SCOPED_TRACE(c.meta);
    CloseVault();
    const std::string kept = StoredMeta(c.meta);
    DeleteMeta(c.meta);
    absl::StatusOr<std::unique_ptr<mv::Vault>> opened = OpenVault();
    EXPECT_THAT(opened,
                StatusIs(kFailedPrecondition,
                         HasSubstr(std::string("lacks its ") + c.meta)));
    EXPECT_THAT(opened, StatusIs(kFailedPrecondition, HasSubstr(c.hint)));
    EXPECT_EQ(StoredMeta(c.meta), "") << "Open made a new " << c.meta;
    ASSERT_THAT(EditStored(
                    [&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                      return txn.Put(env.Db("meta"), c.meta, kept);
                    },
                    false),
                IsOk());
    Reopen();
  }
}

TEST_F(KeyRecoveryTest, AnUnopenableKeyIsDataLossNamingIt) {
  CloseVault();
  DamageMeta("fingerprint_key");
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("fingerprint_key does not open")));
  ASSERT_THAT(Regenerate(mv::VaultKey::kFingerprint), IsOk());
  Reopen();
}

TEST_F(KeyRecoveryTest, AnIntactKeyIsNotRegenerated) {
  CloseVault();
  for (mv::VaultKey key : {mv::VaultKey::kFingerprint, mv::VaultKey::kToken,
                           mv::VaultKey::kKeyCheck}) {
    SCOPED_TRACE(mv::VaultKeyName(key));
    const std::string before = StoredMeta("fingerprint_key") +
                               StoredMeta("token_key") + StoredMeta("kcv");
    EXPECT_THAT(Regenerate(key),
                StatusIs(kFailedPrecondition, HasSubstr("intact")));
    EXPECT_EQ(StoredMeta("fingerprint_key") + StoredMeta("token_key") +
                  StoredMeta("kcv"),
              before);
  }
  Reopen();
  EXPECT_THAT(Login(root_token_), IsOk());
}

TEST_F(KeyRecoveryTest, ARegeneratedFingerprintKeyIsAuditedAndTheVaultServes) {
  ASSERT_THAT(Upload("acme/x", "weights"), IsOk());
  CloseVault();
  DeleteMeta("fingerprint_key");
  ASSERT_THAT(Regenerate(mv::VaultKey::kFingerprint), IsOkAndHolds(""));
  Reopen();
  const mv::AuditRecord audit = LastAudit();
  EXPECT_EQ(audit.method, "modelvaultd regenerate-key");
  EXPECT_EQ(audit.resource, "key:fingerprint");
  EXPECT_THAT(audit.reason, HasSubstr("can no longer be traced"));
  EXPECT_EQ(Fetch("acme/x").bytes, "weights");
  EXPECT_THAT(Login(root_token_), IsOk());  // tokens untouched
}

TEST_F(KeyRecoveryTest, ARegeneratedTokenKeyRevokesEveryTokenAndIssuesRoot) {
  const std::string alice = AddPrincipal("alice", {});
  CloseVault();
  DeleteMeta("token_key");
  absl::StatusOr<std::string> root = Regenerate(mv::VaultKey::kToken);
  ASSERT_THAT(root, IsOk());
  ASSERT_FALSE(root->empty());
  Reopen();
  EXPECT_THAT(Login(root_token_), Not(IsOk()));
  EXPECT_THAT(Login(alice), Not(IsOk()));
  absl::StatusOr<mv::Principal> who = Login(*root);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "root");
  EXPECT_TRUE(vault_->identity().ListTokens("alice").empty());
  bool recorded = false;
  ASSERT_THAT(vault_->audit_log().ScanRecords(
                  1,
                  [&](const mv::AuditRecord& r, std::string_view) {
                    recorded |= r.method == "modelvaultd regenerate-key" &&
                                r.resource == "key:token";
                    return true;
                  }),
              IsOk());
  EXPECT_TRUE(recorded);
}

TEST_F(KeyRecoveryTest, ARefusedRegenerationChangesNothing) {
  // Two keys lost: regenerating one still refuses (the other blocks Open)
  // and must not have stored the first, nor deleted any token.
  CloseVault();
  DeleteMeta("token_key");
  DeleteMeta("fingerprint_key");
  EXPECT_THAT(Regenerate(mv::VaultKey::kToken),
              StatusIs(kFailedPrecondition, HasSubstr("fingerprint_key")));
  EXPECT_EQ(StoredMeta("token_key"), "");
  ASSERT_THAT(Regenerate(mv::VaultKey::kFingerprint),
              StatusIs(kFailedPrecondition, HasSubstr("token_key")));
  EXPECT_EQ(StoredMeta("fingerprint_key"), "");
}

TEST_F(KeyRecoveryTest, AKeyCheckValueIsRewrittenOnlyForTheRightMasterKey) {
  CloseVault();
  DeleteMeta("kcv");
  EXPECT_THAT(OpenVault(),
              StatusIs(kFailedPrecondition,
                       HasSubstr("regenerate-key --key key-check")));
  // Another master key cannot pass itself off as this vault's.
  mv::VaultOptions options = Options();
  absl::StatusOr<mv::SecretKey> other = mv::SecretKey::Random();
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(mv::Vault::RegenerateKey(options, *std::move(other),
                                       mv::VaultKey::kKeyCheck),
              StatusIs(kFailedPrecondition, HasSubstr("wrong master key")));
  EXPECT_EQ(StoredMeta("kcv"), "");
  ASSERT_THAT(Regenerate(mv::VaultKey::kKeyCheck), IsOkAndHolds(""));
  Reopen();
  EXPECT_EQ(LastAudit().resource, "key:key-check");
}

}  // namespace
}  // namespace mvtesting
