// Vault::Init / Open / Authenticate, and what the raw data file holds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/bytes.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"
#include "vault/vault.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class VaultLifecycleTest : public VaultTest {};

TEST_F(VaultLifecycleTest, InitCreatesA0700DirAndReturnsARootToken) {
  struct stat st {};
  ASSERT_EQ(stat(Options().data_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(mv::Vault::Exists(Options().data_dir));
  EXPECT_THAT(root_token_, MatchesRegex("mvt_[A-Za-z0-9_-]{43}"));
}

TEST_F(VaultLifecycleTest, InitTwiceIsAlreadyExistsAndKeepsTheRootToken) {
  CloseVault();
  EXPECT_THAT(mv::Vault::Init(Options(), Kek()),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr(Options().data_dir)));
  EXPECT_THAT(
      mv::Vault::Init(Options(), *mv::SecretKey::Random()),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
  Reopen();
  EXPECT_THAT(vault_->identity().Authenticate("Bearer " + root_token_), IsOk());
}

TEST_F(VaultLifecycleTest, InitUnderAMissingParentFails) {
  mv::VaultOptions o = Options();
  o.data_dir = dir_.Sub("no/such/dir");
  EXPECT_THAT(mv::Vault::Init(o, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot create")));
}

TEST_F(VaultLifecycleTest, OpenWithWrongKeyIsFailedPrecondition) {
  CloseVault();
  EXPECT_THAT(mv::Vault::Open(Options(), *mv::SecretKey::Random()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("wrong master key"),
                             HasSubstr(Options().data_dir))));
}

TEST_F(VaultLifecycleTest, OpenOfAnEmptyOrMissingDirIsFailedPrecondition) {
  mv::VaultOptions o = Options();
  o.data_dir = dir_.Sub("empty");
  ASSERT_EQ(mkdir(o.data_dir.c_str(), 0700), 0);
  EXPECT_THAT(
      mv::Vault::Open(o, Kek()),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("no vault in"), HasSubstr("modelvaultd init"))));
  EXPECT_FALSE(std::filesystem::exists(o.data_dir + "/data.mdb"))
      << "Open created files";
  o.data_dir = dir_.Sub("missing");
  EXPECT_THAT(mv::Vault::Open(o, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no vault in")));
}

TEST_F(VaultLifecycleTest, OpenOfAnLmdbDirThatIsNoVaultIsFailedPrecondition) {
  mv::VaultOptions o = Options();
  o.data_dir = dir_.Sub("plain");
  ASSERT_EQ(mkdir(o.data_dir.c_str(), 0700), 0);
  ASSERT_THAT(mv::LmdbEnv::Open({o.data_dir, size_t{1} << 20}, {"other"}),
              IsOk());
  EXPECT_THAT(mv::Vault::Open(o, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is not an initialised vault")));
}

TEST_F(VaultLifecycleTest, OpenOfAFutureFormatIsFailedPreconditionNamingIt) {
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("meta"), "format", mv::IdKey(5));
              }),
              IsOk());
  EXPECT_THAT(mv::Vault::Open(Options(), Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("has format 5"),
                             HasSubstr("supports format 4"))));
}

TEST_F(VaultLifecycleTest, OpenWithAMalformedFormatRecordIsFailedPrecondition) {
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("meta"), "format", "\x01");
              }),
              IsOk());
  EXPECT_THAT(mv::Vault::Open(Options(), Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("has format 0")));
}

TEST_F(VaultLifecycleTest, OpenWithoutTheTokenKeyIsRefusedNamingIt) {
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Delete(env.Db("meta"), "token_key");
              }),
              IsOk());
  EXPECT_THAT(mv::Vault::Open(Options(), Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("lacks its token_key")));
}

TEST_F(VaultLifecycleTest, OpenWithATamperedTokenKeyIsDataLoss) {
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                auto v = txn.Get(env.Db("meta"), "token_key");
                if (!v.ok() || !*v) return absl::InternalError("no token key");
                std::string bad(**v);
                bad[30] ^= 1;
                return txn.Put(env.Db("meta"), "token_key", bad);
              }),
              IsOk());
  EXPECT_THAT(mv::Vault::Open(Options(), Kek()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("token_key does not open (a wrapped key "
                                 "failed authentication)")));
}

TEST_F(VaultLifecycleTest, RootTokenAuthenticatesAsRoot) {
  absl::StatusOr<mv::Principal> who =
      vault_->identity().Authenticate("Bearer " + root_token_);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "root");
  EXPECT_THAT(who->token_accessor, MatchesRegex("[0-9a-f]{24}"));
  EXPECT_EQ(who->token_accessor.find(root_token_.substr(4, 8)),
            std::string::npos);
}

TEST_F(VaultLifecycleTest, RootTokenSurvivesReopen) {
  absl::StatusOr<mv::Principal> before =
      vault_->identity().Authenticate("Bearer " + root_token_);
  Reopen();
  absl::StatusOr<mv::Principal> after =
      vault_->identity().Authenticate("Bearer " + root_token_);
  ASSERT_THAT(before, IsOk());
  ASSERT_THAT(after, IsOk());
  EXPECT_EQ(after->token_accessor, before->token_accessor);
}

TEST_F(VaultLifecycleTest,
       WrongOrGarbageTokensAreUnauthenticatedWithOneMessage) {
  std::string flipped = root_token_;
  flipped[10] = flipped[10] == 'A' ? 'B' : 'A';
  for (const std::string& header :
       {std::string(""), std::string("Bearer"), "Bearer " + mv::GenerateToken(),
        "Bearer " + flipped, "bearer " + root_token_, "Basic " + root_token_,
        root_token_, "Bearer " + root_token_.substr(0, 46),
        "Bearer " + root_token_ + "x",
        std::string(
            "Bearer mvt_!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!")}) {
    EXPECT_THAT(vault_->identity().Authenticate(header),
                StatusIs(absl::StatusCode::kUnauthenticated,
                         Eq(mv::kUnauthenticatedMessage)))
        << header;
  }
}

TEST_F(VaultLifecycleTest, AnotherVaultsRootTokenIsUnauthenticated) {
  mv::VaultOptions o = Options();
  o.data_dir = dir_.Sub("other");
  absl::StatusOr<std::string> other = mv::Vault::Init(o, Kek());
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(vault_->identity().Authenticate("Bearer " + *other),
              StatusIs(absl::StatusCode::kUnauthenticated,
                       Eq(mv::kUnauthenticatedMessage)));
}

TEST_F(VaultLifecycleTest, RawDataFileHoldsNoPlaintextTokenOrKey) {
  const std::string marker = "MODELVAULT-PLAINTEXT-MARKER-7f3a9c";
  std::string data;
  while (data.size() < 5 * kChunk + 100) data += marker;
  ASSERT_THAT(Upload("secret/model", data), IsOk());
  // A download must not leave plaintext behind either.
  ASSERT_EQ(Fetch("secret/model").bytes, data);
  // Nor do issued tokens, limited ones (rewritten on every use) included.
  const std::string created = AddPrincipal("alice", {"root"});
  mv::TokenSpec limited_spec;
  limited_spec.principal = "alice";
  limited_spec.uses = 5;
  limited_spec.ttl = absl::Hours(1);
  absl::StatusOr<mv::IssuedToken> limited =
      vault_->identity().CreateToken(mv::RootCaller(), limited_spec);
  ASSERT_THAT(limited, IsOk());
  ASSERT_THAT(Login(limited->token), IsOk());
  CloseVault();
  absl::StatusOr<std::string> recovered =
      mv::Vault::IssueRootToken(Options(), Kek());
  ASSERT_THAT(recovered, IsOk());
  const std::string raw = ReadFile(Options().data_dir + "/data.mdb");
  ASSERT_GT(raw.size(), 5u * kChunk) << "the data file holds the chunks";
  EXPECT_EQ(raw.find(marker), std::string::npos)
      << "plaintext marker in data.mdb";
  EXPECT_EQ(raw.find(marker.substr(0, 16)), std::string::npos);
  EXPECT_EQ(raw.find(root_token_), std::string::npos)
      << "root token in data.mdb";
  EXPECT_EQ(raw.find(root_token_.substr(4)), std::string::npos);
  for (const std::string& token : {created, limited->token, *recovered}) {
    EXPECT_EQ(raw.find(token.substr(4)), std::string::npos)
        << "token in data.mdb";
    EXPECT_EQ(raw.find(token.substr(4, 16)), std::string::npos);
  }
  EXPECT_EQ(raw.find(kek_raw_), std::string::npos) << "master key in data.mdb";
  const std::string lock = ReadFile(Options().data_dir + "/lock.mdb");
  EXPECT_EQ(lock.find(root_token_), std::string::npos);
  for (const std::string& token : {created, limited->token, *recovered}) {
    EXPECT_EQ(lock.find(token.substr(4)), std::string::npos);
  }
}

}  // namespace
}  // namespace mvtesting
