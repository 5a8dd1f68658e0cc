// Vault tokens: authentication (the failure matrix), issuing, effective
// policies, listing, revoking and offline root-token recovery.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/record_codec.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/catalog.h"
#include "vault/vault.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TokensTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    PutPolicy("readers", AllowJson(R"(["acme/**"])", R"(["read", "list"])"));
    PutPolicy("writers", AllowJson(R"(["acme/**"])", R"(["write"])"));
    PutPolicy(
        "token-admins",
        R"({"rules": [{"effect": "allow", "actions": ["admin:tokens"]}]})");
  }

  absl::StatusOr<mv::IssuedToken> Issue(
      const std::string& principal, absl::Duration ttl = absl::ZeroDuration(),
      int64_t uses = 0, std::vector<std::string> policies = {}) {
    mv::TokenSpec spec;
    spec.principal = principal;
    spec.ttl = ttl;
    spec.uses = uses;
    spec.policies = std::move(policies);
    return vault_->identity().CreateToken(mv::RootCaller(), spec);
  }

  std::string RootAccessor() {
    absl::StatusOr<mv::Principal> root = Login(root_token_);
    EXPECT_THAT(root, IsOk());
    return root.ok() ? root->token_accessor : "";
  }
};

auto Unauthenticated() {
  return StatusIs(absl::StatusCode::kUnauthenticated,
                  Eq(mv::kUnauthenticatedMessage));
}

TEST_F(TokensTest, ThrottleCountsSurviveAnAuditLogThatCannotBeWritten) {
  auth_throttle_ = {.burst = 1, .per_minute = 60};
  auto broken = std::make_shared<std::atomic<bool>>(false);
  audit_options_.fault = [broken]() -> absl::Status {
    if (*broken) return absl::UnavailableError("disk full (injected)");
    return absl::OkStatus();
  };
  Reopen();
  for (const char* ip : {"10.0.0.7", "10.0.0.7", "10.0.0.9", "10.0.0.9"}) {
    (void)vault_->identity().Authenticate(
        mv::Credentials{std::nullopt, {}, ip});
  }
  const uint64_t before = vault_->audit_log().ReadHead()->sequence;
  broken->store(true);
  EXPECT_THAT(vault_->identity().AuditThrottledAuthentications(),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  EXPECT_EQ(vault_->audit_log().ReadHead()->sequence, before)
      << "nothing half-written";
  // Once the log can be written, the same counts are recorded: none lost.
  broken->store(false);
  EXPECT_THAT(vault_->identity().AuditThrottledAuthentications(),
              IsOkAndHolds(2u));
  std::vector<std::string> peers;
  ASSERT_THAT(vault_->audit_log().ScanRecords(
                  before + 1,
                  [&](const mv::AuditRecord& r, std::string_view) {
                    EXPECT_THAT(r.reason, HasSubstr("rate limited: 1 failed"));
                    peers.push_back(r.peer);
                    return true;
                  }),
              IsOk());
  EXPECT_THAT(peers, ::testing::UnorderedElementsAre("10.0.0.7", "10.0.0.9"));
}

TEST_F(TokensTest, FailuresBeyondTheAllowanceAreCountedInOneRecordPerAddress) {
  auth_throttle_ = {.burst = 3, .per_minute = 60};
  Reopen();
  const std::string alice = AddPrincipal("alice", {"readers"});
  auto from = [](std::string ip, std::optional<std::string> authorization) {
    return mv::Credentials{std::move(authorization), {}, std::move(ip)};
  };
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(
        vault_->identity().Authenticate(from("10.0.0.7", "Bearer mvt_bad")),
        Unauthenticated());
  }
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<mv::Principal> refused =
        vault_->identity().Authenticate(from("10.0.0.7", std::nullopt));
    EXPECT_TRUE(mv::IsThrottled(refused.status())) << refused.status();
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                  HasSubstr("too many failed authentications "
                                            "from 10.0.0.7; retry in 1 s")));
  }
  // Valid credentials are never throttled; other addresses keep theirs.
  EXPECT_THAT(
      vault_->identity().Authenticate(from("10.0.0.7", "Bearer " + alice)),
      IsOk());
  EXPECT_THAT(
      vault_->identity().Authenticate(from("10.0.0.8", "Bearer mvt_bad")),
      Unauthenticated());

  const uint64_t before = vault_->audit_log().ReadHead()->sequence;
  EXPECT_THAT(vault_->identity().AuditThrottledAuthentications(),
              IsOkAndHolds(1u));
  std::vector<mv::AuditRecord> written;
  ASSERT_THAT(vault_->audit_log().ScanRecords(
                  before + 1,
                  [&](const mv::AuditRecord& r, std::string_view) {
                    written.push_back(r);
                    return true;
                  }),
              IsOk());
  ASSERT_THAT(written, SizeIs(1));
  EXPECT_EQ(written[0].peer, "10.0.0.7");
  EXPECT_EQ(written[0].decision, mv::AuditDecision::kUnauthenticated);
  EXPECT_EQ(written[0].status_code,
            static_cast<uint32_t>(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(written[0].reason,
              HasSubstr("rate limited: 2 failed authentications refused"));
  EXPECT_THAT(vault_->identity().AuditThrottledAuthentications(),
              IsOkAndHolds(0u));

  // A minute later the address has earned its allowance back.
  clock_.Advance(absl::Minutes(1));
  EXPECT_THAT(vault_->identity().Authenticate(from("10.0.0.7", std::nullopt)),
              Unauthenticated());
}

TEST_F(TokensTest, EveryBadCredentialIsUnauthenticatedWithOneMessage) {
  AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> expiring = Issue("alice", absl::Hours(1));
  absl::StatusOr<mv::IssuedToken> revoked = Issue("alice");
  absl::StatusOr<mv::IssuedToken> exhausted =
      Issue("alice", absl::ZeroDuration(), 1);
  AddPrincipal("gone", {"readers"});
  absl::StatusOr<mv::IssuedToken> orphan = Issue("gone");
  ASSERT_THAT(expiring, IsOk());
  ASSERT_THAT(revoked, IsOk());
  ASSERT_THAT(exhausted, IsOk());
  ASSERT_THAT(orphan, IsOk());
  ASSERT_THAT(Login(exhausted->token), IsOk());  // its one use
  ASSERT_THAT(
      vault_->identity().RevokeToken(mv::RootCaller(), revoked->info.accessor),
      IsOk());
  ASSERT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "gone"),
              IsOk());
  clock_.Advance(absl::Hours(1));

  EXPECT_THAT(vault_->identity().Authenticate(mv::Credentials{}),
              Unauthenticated())
      << "missing";
  const std::string good = expiring->token;
  for (const std::string& header : {
           std::string(""),                  // empty
           "Basic " + good,                  // wrong scheme
           "bearer " + good,                 // scheme is case-sensitive
           good,                             // no scheme
           "Bearer " + mv::GenerateToken(),  // random
           "Bearer " + good.substr(0, 30),   // truncated
           "Bearer " + good,                 // expired
           "Bearer " + revoked->token,       // revoked
           "Bearer " + exhausted->token,     // exhausted
           "Bearer " + orphan->token,        // principal removed
       }) {
    EXPECT_THAT(vault_->identity().Authenticate(header), Unauthenticated())
        << header;
    EXPECT_THAT(
        vault_->identity().Authenticate(mv::Credentials{header, {}, ""}),
        Unauthenticated())
        << header;
  }
}

TEST_F(TokensTest, TtlEndsExactlyAtExpiry) {
  AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> t = Issue("alice", absl::Minutes(10));
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->info.expires_at_unix_ms,
            absl::ToUnixMillis(clock_.Now() + absl::Minutes(10)));
  clock_.Advance(absl::Minutes(10) - absl::Milliseconds(1));
  absl::StatusOr<mv::Principal> who = Login(t->token);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->token_expires_at_unix_ms, t->info.expires_at_unix_ms);
  clock_.Advance(absl::Milliseconds(1));
  EXPECT_THAT(Login(t->token), Unauthenticated());
}

TEST_F(TokensTest, LimitedTokensSpendOneUsePerAuthenticationAcrossReopen) {
  AddPrincipal("job", {"writers"});
  absl::StatusOr<mv::IssuedToken> t = Issue("job", absl::ZeroDuration(), 3);
  ASSERT_THAT(t, IsOk());
  EXPECT_EQ(t->info.uses_left, 3);
  absl::StatusOr<mv::Principal> first = Login(t->token);
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->token_uses_left, 2);
  Reopen();
  EXPECT_THAT(vault_->identity().LookupToken(t->info.accessor),
              IsOkAndHolds(testing::Field(&mv::TokenInfo::uses_left, 2)));
  ASSERT_THAT(Login(t->token), IsOk());
  absl::StatusOr<mv::Principal> last = Login(t->token);
  ASSERT_THAT(last, IsOk());
  EXPECT_EQ(last->token_uses_left, 0);
  EXPECT_THAT(Login(t->token), Unauthenticated());
  EXPECT_THAT(vault_->identity().LookupToken(t->info.accessor),
              IsOkAndHolds(testing::Field(&mv::TokenInfo::uses_left, 0)));
}

TEST_F(TokensTest, ConcurrentCallsNeverSpendMoreUsesThanATokenHas) {
  AddPrincipal("job", {"writers"});
  absl::StatusOr<mv::IssuedToken> t = Issue("job", absl::ZeroDuration(), 5);
  ASSERT_THAT(t, IsOk());
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 5; ++j) {
        absl::StatusOr<mv::Principal> who =
            vault_->identity().Authenticate("Bearer " + t->token);
        (who.ok() ? ok : refused)++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(refused.load(), 15);
}

TEST_F(TokensTest, UnlimitedTokensAreNotRewrittenByAuthentication) {
  AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> t = Issue("alice");
  ASSERT_THAT(t, IsOk());
  CloseVault();
  const auto before = DumpRaw("tokens");
  Reopen();
  for (int i = 0; i < 3; ++i) ASSERT_THAT(Login(t->token), IsOk());
  CloseVault();
  EXPECT_EQ(DumpRaw("tokens"), before);
}

TEST_F(TokensTest, CreateTokenValidatesItsSpec) {
  AddPrincipal("alice", {"readers"});
  EXPECT_THAT(Issue("nobody"), StatusIs(absl::StatusCode::kNotFound,
                                        "principal not found: nobody"));
  EXPECT_THAT(Issue("Bad Name"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("invalid principal name")));
  EXPECT_THAT(Issue("alice", -absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ttl")));
  EXPECT_THAT(Issue("alice", absl::ZeroDuration(), -1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("uses")));
  EXPECT_THAT(
      Issue("alice", absl::ZeroDuration(), 0, {"writers"}),
      StatusIs(
          absl::StatusCode::kInvalidArgument,
          AllOf(HasSubstr("policy writers is not attached to principal alice"),
                HasSubstr("subset"))));
  EXPECT_THAT(
      Issue("alice", absl::ZeroDuration(), 0, {"root"}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("policy root")));
  EXPECT_THAT(vault_->identity().ListTokens("alice"), SizeIs(1))
      << "only AddPrincipal's token";
}

TEST_F(TokensTest, IssuedTokensLookLikeTheRootTokenAndAreDistinct) {
  AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> a = Issue("alice");
  absl::StatusOr<mv::IssuedToken> b = Issue("alice");
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_THAT(a->token, testing::MatchesRegex("mvt_[A-Za-z0-9_-]{43}"));
  EXPECT_THAT(a->info.accessor, testing::MatchesRegex("[0-9a-f]{24}"));
  EXPECT_NE(a->token, b->token);
  EXPECT_NE(a->info.accessor, b->info.accessor);
  EXPECT_EQ(a->info.principal, "alice");
  EXPECT_EQ(a->info.uses_left, -1);
  EXPECT_EQ(a->info.expires_at_unix_ms, 0);
  EXPECT_EQ(a->info.created_at_unix_ms, absl::ToUnixMillis(clock_.Now()));
}

TEST_F(TokensTest, EffectivePoliciesAreTheTokensIntersectedWithThePrincipals) {
  AddPrincipal("alice", {"writers", "readers"});
  absl::StatusOr<mv::IssuedToken> narrow =
      Issue("alice", absl::ZeroDuration(), 0, {"readers", "readers"});
  absl::StatusOr<mv::IssuedToken> wide = Issue("alice");
  ASSERT_THAT(narrow, IsOk());
  ASSERT_THAT(wide, IsOk());
  EXPECT_THAT(narrow->info.policies, ElementsAre("readers"));
  EXPECT_THAT(Login(narrow->token),
              IsOkAndHolds(testing::Field(&mv::Principal::policies,
                                          ElementsAre("readers"))));
  EXPECT_THAT(Login(wide->token),
              IsOkAndHolds(testing::Field(&mv::Principal::policies,
                                          ElementsAre("readers", "writers"))));
  // Detaching takes effect on the next authentication, for every token.
  ASSERT_THAT(
      vault_->identity().DetachPolicy(mv::RootCaller(), "alice", "readers"),
      IsOk());
  EXPECT_THAT(Login(narrow->token), IsOkAndHolds(testing::Field(
                                        &mv::Principal::policies, IsEmpty())));
  EXPECT_THAT(Login(wide->token),
              IsOkAndHolds(testing::Field(&mv::Principal::policies,
                                          ElementsAre("writers"))));
  // Re-attaching brings it back (the token still names it).
  ASSERT_THAT(
      vault_->identity().AttachPolicy(mv::RootCaller(), "alice", "readers"),
      IsOk());
  EXPECT_THAT(Login(narrow->token),
              IsOkAndHolds(testing::Field(&mv::Principal::policies,
                                          ElementsAre("readers"))));
}

TEST_F(TokensTest, ListAndLookupShowTokensButNeverTheirSecrets) {
  AddPrincipal("alice", {"readers"});
  AddPrincipal("bob", {"readers"});
  absl::StatusOr<mv::IssuedToken> t =
      Issue("alice", absl::Hours(2), 5, {"readers"});
  ASSERT_THAT(t, IsOk());
  EXPECT_THAT(vault_->identity().ListTokens("alice"), SizeIs(2));
  EXPECT_THAT(vault_->identity().ListTokens("bob"), SizeIs(1));
  EXPECT_THAT(vault_->identity().ListTokens("nobody"), IsEmpty());
  EXPECT_THAT(vault_->identity().ListTokens(""), SizeIs(4))
      << "root's, alice's two, bob's";
  absl::StatusOr<mv::TokenInfo> info =
      vault_->identity().LookupToken(t->info.accessor);
  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->principal, "alice");
  EXPECT_EQ(info->uses_left, 5);
  EXPECT_EQ(info->expires_at_unix_ms, t->info.expires_at_unix_ms);
  EXPECT_THAT(info->policies, ElementsAre("readers"));
  EXPECT_THAT(
      vault_->identity().LookupToken("0123456789abcdef01234567"),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("token not found")));
  EXPECT_THAT(
      vault_->identity().LookupToken(std::string(600, 'a')),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("token not found")));
  EXPECT_THAT(vault_->identity().LookupToken(""),
              StatusIs(absl::StatusCode::kNotFound, testing::_));
}

TEST_F(TokensTest, RevokeRemovesTheTokenAndItsAccessor) {
  AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> t = Issue("alice");
  ASSERT_THAT(t, IsOk());
  ASSERT_THAT(Login(t->token), IsOk());
  ASSERT_THAT(
      vault_->identity().RevokeToken(mv::RootCaller(), t->info.accessor),
      IsOk());
  EXPECT_THAT(Login(t->token), Unauthenticated());
  EXPECT_THAT(vault_->identity().LookupToken(t->info.accessor),
              StatusIs(absl::StatusCode::kNotFound, testing::_));
  EXPECT_THAT(
      vault_->identity().RevokeToken(mv::RootCaller(), t->info.accessor),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr(t->info.accessor)));
  CloseVault();
  EXPECT_THAT(DumpRaw("tokens"), SizeIs(2)) << "root's and AddPrincipal's";
  EXPECT_THAT(DumpRaw("accessors"), SizeIs(2));
}

TEST_F(TokensTest, RootTokenCannotBeRevokedWithoutAnotherAdministrator) {
  const std::string root = RootAccessor();
  const auto refused =
      StatusIs(absl::StatusCode::kFailedPrecondition,
               "create another administrator before revoking the root token");
  EXPECT_THAT(vault_->identity().RevokeToken(mv::RootCaller(), root), refused);
  AddPrincipal("reader", {"readers"});
  EXPECT_THAT(vault_->identity().RevokeToken(mv::RootCaller(), root), refused)
      << "a reader is no administrator";
  const std::string admin = AddPrincipal("admin", {"token-admins"});
  ASSERT_THAT(vault_->identity().RevokeToken(mv::RootCaller(), root), IsOk());
  EXPECT_THAT(Login(root_token_), Unauthenticated());
  EXPECT_THAT(Login(admin), IsOk());
}

TEST_F(TokensTest, ASecondSuperuserCountsAsAnotherAdministrator) {
  AddPrincipal("ops", {"root"});
  EXPECT_THAT(vault_->identity().RevokeToken(mv::RootCaller(), RootAccessor()),
              IsOk());
}

TEST_F(TokensTest, DeletingAPrincipalRevokesEveryTokenItHeld) {
  const std::string first = AddPrincipal("alice", {"readers"});
  absl::StatusOr<mv::IssuedToken> second = Issue("alice", absl::Hours(1), 3);
  ASSERT_THAT(second, IsOk());
  const std::string bob = AddPrincipal("bob", {"readers"});
  EXPECT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "alice"),
              IsOkAndHolds(2u));
  EXPECT_THAT(Login(first), Unauthenticated());
  EXPECT_THAT(Login(second->token), Unauthenticated());
  EXPECT_THAT(vault_->identity().ListTokens("alice"), IsEmpty());
  EXPECT_THAT(Login(bob), IsOk());
  // A new alice does not inherit the old tokens.
  AddPrincipal("alice", {"readers"});
  EXPECT_THAT(Login(first), Unauthenticated());
}

TEST_F(TokensTest, IssueRootTokenAddsATokenToAClosedVault) {
  CloseVault();
  absl::StatusOr<std::string> fresh =
      mv::Vault::IssueRootToken(Options(), Kek());
  ASSERT_THAT(fresh, IsOk());
  EXPECT_THAT(*fresh, testing::MatchesRegex("mvt_[A-Za-z0-9_-]{43}"));
  EXPECT_NE(*fresh, root_token_);
  Reopen();
  absl::StatusOr<mv::Principal> who = Login(*fresh);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "root");
  EXPECT_THAT(who->policies, ElementsAre("root"));
  EXPECT_THAT(Login(root_token_), IsOk()) << "the old root token stays valid";
  EXPECT_THAT(vault_->identity().ListTokens("root"), SizeIs(2));
}

TEST_F(TokensTest, IssueRootTokenRestoresAccessAfterTheRootTokenWasRevoked) {
  AddPrincipal("admin", {"token-admins"});
  ASSERT_THAT(vault_->identity().RevokeToken(mv::RootCaller(), RootAccessor()),
              IsOk());
  CloseVault();
  absl::StatusOr<std::string> fresh =
      mv::Vault::IssueRootToken(Options(), Kek());
  ASSERT_THAT(fresh, IsOk());
  Reopen();
  EXPECT_THAT(Login(*fresh), IsOk());
}

TEST_F(TokensTest, IssueRootTokenRefusesAnOpenVaultAWrongKeyOrNoVault) {
  EXPECT_THAT(mv::Vault::IssueRootToken(Options(), Kek()), testing::Not(IsOk()))
      << "the vault is open in this process";
  CloseVault();
  EXPECT_THAT(mv::Vault::IssueRootToken(Options(), *mv::SecretKey::Random()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("wrong master key")));
  mv::VaultOptions missing = Options();
  missing.data_dir = dir_.Sub("missing");
  EXPECT_THAT(mv::Vault::IssueRootToken(missing, Kek()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no vault in")));
  Reopen();
  EXPECT_THAT(vault_->identity().ListTokens("root"), SizeIs(1));
}

TEST_F(TokensTest, AVaultFromBeforeIdentitiesGainsItsRootPrincipal) {
  // Rewrite the vault as the first modelvaultd left it: a layout-1 root
  // token and no principal records.
  CloseVault();
  ASSERT_THAT(
      EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
        std::vector<std::pair<std::string, std::string>> tokens;
        absl::Status scan =
            txn.Scan(env.Db("tokens"), "", "",
                     [&](std::string_view k, std::string_view v) {
                       tokens.emplace_back(k, v);
                       return true;
                     });
        if (!scan.ok()) return scan;
        if (tokens.size() != 1)
          return absl::InternalError("expected one token");
        absl::StatusOr<mv::TokenRecord> r = mv::DecodeToken(tokens[0].second);
        if (!r.ok()) return r.status();
        const std::string v1 = mv::Encoder()
                                   .U8(1)
                                   .Bytes(r->principal)
                                   .Bytes(r->accessor)
                                   .U64(5)
                                   .Finish();
        if (absl::Status s = txn.Put(env.Db("tokens"), tokens[0].first, v1);
            !s.ok()) {
          return s;
        }
        if (absl::Status s = txn.Delete(env.Db("accessors"), r->accessor);
            !s.ok()) {
          return s;
        }
        return txn.Delete(env.Db("principals"), "root");
      }),
      IsOk());
  Reopen();
  absl::StatusOr<mv::Principal> who = Login(root_token_);
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "root");
  EXPECT_THAT(who->policies, ElementsAre("root"));
  EXPECT_THAT(vault_->identity().GetPrincipal("root"), IsOk());
  EXPECT_THAT(vault_->identity().ListTokens("root"), SizeIs(1));
  EXPECT_THAT(vault_->identity().LookupToken(who->token_accessor), IsOk())
      << "old tokens get their accessor entries";
}

}  // namespace
}  // namespace mvtesting
