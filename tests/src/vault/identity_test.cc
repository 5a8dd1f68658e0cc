// Vault principals, certificate identities, policies and Authorize.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/vault.h"

namespace mvtesting {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

auto Unauthenticated() {
  return StatusIs(absl::StatusCode::kUnauthenticated,
                  Eq(mv::kUnauthenticatedMessage));
}

mv::AccessRequest Request(mv::Action action, std::string artifact) {
  mv::AccessRequest r;
  r.action = action;
  r.artifact = std::move(artifact);
  r.now = absl::InfinitePast();
  return r;
}

class IdentityTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    PutPolicy("readers", AllowJson(R"(["acme/**"])", R"(["read", "list"])"));
    PutPolicy("writers", AllowJson(R"(["acme/**"])", R"(["write"])"));
  }

  mv::PrincipalInfo Info(std::string name,
                         std::vector<std::string> policies = {},
                         std::string cert = "") {
    mv::PrincipalInfo info;
    info.name = std::move(name);
    info.policies = std::move(policies);
    info.cert_identity = std::move(cert);
    return info;
  }

  mv::Principal As(const std::string& name) {
    absl::StatusOr<mv::PrincipalInfo> info =
        vault_->identity().GetPrincipal(name);
    EXPECT_THAT(info, IsOk());
    mv::Principal who;
    who.name = name;
    if (info.ok()) who.policies = info->policies;
    return who;
  }
};

// ---- principals ----

TEST_F(IdentityTest, InitCreatesTheRootSuperuser) {
  absl::StatusOr<mv::PrincipalInfo> root =
      vault_->identity().GetPrincipal("root");
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->kind, mv::PrincipalKind::kUser);
  EXPECT_THAT(root->policies, ElementsAre("root"));
  absl::StatusOr<mv::Principal> who = Login(root_token_);
  ASSERT_THAT(who, IsOk());
  EXPECT_THAT(who->policies, ElementsAre("root"));
  EXPECT_EQ(who->token_uses_left, -1);
  EXPECT_EQ(who->tls_identity, "");
}

TEST_F(IdentityTest, CreatePrincipalStoresSortedPoliciesAndTime) {
  mv::PrincipalInfo info =
      Info("svc.trainer@acme", {"writers", "readers", "writers"});
  info.kind = mv::PrincipalKind::kService;
  absl::StatusOr<mv::PrincipalInfo> made =
      vault_->identity().CreatePrincipal(mv::RootCaller(), info);
  ASSERT_THAT(made, IsOk());
  EXPECT_THAT(made->policies, ElementsAre("readers", "writers"));
  EXPECT_EQ(made->created_at_unix_ms, absl::ToUnixMillis(clock_.Now()));
  Reopen();
  absl::StatusOr<mv::PrincipalInfo> got =
      vault_->identity().GetPrincipal("svc.trainer@acme");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->kind, mv::PrincipalKind::kService);
  EXPECT_THAT(got->policies, ElementsAre("readers", "writers"));
  EXPECT_EQ(got->created_at_unix_ms, made->created_at_unix_ms);
}

TEST_F(IdentityTest, CreatePrincipalRejectsBadNamesKindsAndDuplicates) {
  for (const std::string& bad :
       {std::string(""), std::string("Alice"), std::string("-a"),
        std::string("a b"), std::string("a/b"), std::string(65, 'a')}) {
    EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(), Info(bad)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid principal name")))
        << bad;
  }
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info(std::string(64, 'a'))),
              IsOk());
  mv::PrincipalInfo odd = Info("odd");
  odd.kind = static_cast<mv::PrincipalKind>(7);
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(), odd),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  EXPECT_THAT(
      vault_->identity().CreatePrincipal(mv::RootCaller(), Info("root")),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "principal already exists: root"));
  ASSERT_THAT(
      vault_->identity().CreatePrincipal(mv::RootCaller(), Info("alice")),
      IsOk());
  EXPECT_THAT(
      vault_->identity().CreatePrincipal(mv::RootCaller(), Info("alice")),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("alice")));
}

TEST_F(IdentityTest,
       CreatePrincipalNeedsExistingPoliciesButMayBeAnotherSuperuser) {
  EXPECT_THAT(
      vault_->identity().CreatePrincipal(mv::RootCaller(),
                                         Info("alice", {"readers", "nosuch"})),
      StatusIs(absl::StatusCode::kNotFound, "policy not found: nosuch"));
  EXPECT_THAT(
      vault_->identity().GetPrincipal("alice"),
      StatusIs(absl::StatusCode::kNotFound, "principal not found: alice"));
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info("ops", {"root"})),
              IsOkAndHolds(testing::Field(&mv::PrincipalInfo::policies,
                                          ElementsAre("root"))));
  EXPECT_THAT(vault_->identity().Authorize(As("ops"),
                                           Request(mv::Action::kAdminKeys, "")),
              IsOk());
}

TEST_F(IdentityTest, ListPrincipalsIsSortedByName) {
  for (const char* name : {"zed", "alice", "mallory"}) {
    ASSERT_THAT(
        vault_->identity().CreatePrincipal(mv::RootCaller(), Info(name)),
        IsOk());
  }
  std::vector<std::string> names;
  for (const mv::PrincipalInfo& p : vault_->identity().ListPrincipals())
    names.push_back(p.name);
  EXPECT_THAT(names, ElementsAre("alice", "mallory", "root", "zed"));
}

TEST_F(IdentityTest, TheRootPrincipalCannotBeDeletedOrLoseTheRootPolicy) {
  EXPECT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "root"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "the root principal cannot be deleted"));
  EXPECT_THAT(vault_->identity().DetachPolicy(mv::RootCaller(), "root", "root"),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("root policy")));
  EXPECT_THAT(Login(root_token_), IsOk());
  EXPECT_THAT(
      vault_->identity().DeletePrincipal(mv::RootCaller(), "nobody"),
      StatusIs(absl::StatusCode::kNotFound, "principal not found: nobody"));
}

TEST_F(IdentityTest, AttachAndDetachPolicies) {
  ASSERT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info("alice", {"readers"})),
              IsOk());
  EXPECT_THAT(
      vault_->identity().AttachPolicy(mv::RootCaller(), "alice", "writers"),
      IsOkAndHolds(testing::Field(&mv::PrincipalInfo::policies,
                                  ElementsAre("readers", "writers"))));
  EXPECT_THAT(
      vault_->identity().AttachPolicy(mv::RootCaller(), "alice", "writers"),
      IsOk())
      << "idempotent";
  EXPECT_THAT(
      vault_->identity().AttachPolicy(mv::RootCaller(), "alice", "nosuch"),
      StatusIs(absl::StatusCode::kNotFound, "policy not found: nosuch"));
  EXPECT_THAT(
      vault_->identity().AttachPolicy(mv::RootCaller(), "nobody", "readers"),
      StatusIs(absl::StatusCode::kNotFound, "principal not found: nobody"));
  EXPECT_THAT(
      vault_->identity().DetachPolicy(mv::RootCaller(), "alice", "readers"),
      IsOkAndHolds(testing::Field(&mv::PrincipalInfo::policies,
                                  ElementsAre("writers"))));
  EXPECT_THAT(
      vault_->identity().DetachPolicy(mv::RootCaller(), "alice", "readers"),
      StatusIs(absl::StatusCode::kNotFound,
               "principal alice does not have policy readers"));
}

// ---- certificate identities ----

mv::Credentials Cert(std::vector<std::string> identities,
                     std::optional<std::string> token = std::nullopt) {
  return mv::Credentials{std::move(token), std::move(identities), ""};
}

TEST_F(IdentityTest, ACertificateIdentityMapsToItsPrincipal) {
  const std::string token =
      AddPrincipal("cluster", {"writers"}, "uri:spiffe://acme/cluster");
  absl::StatusOr<mv::Principal> who = vault_->identity().Authenticate(
      Cert({"uri:spiffe://acme/cluster", "cn:node-1"}));
  ASSERT_THAT(who, IsOk());
  EXPECT_EQ(who->name, "cluster");
  EXPECT_EQ(who->token_accessor, "");
  EXPECT_EQ(who->tls_identity, "uri:spiffe://acme/cluster");
  EXPECT_THAT(who->policies, ElementsAre("writers"));
  // Token and certificate of the same principal: both recorded.
  absl::StatusOr<mv::Principal> both = vault_->identity().Authenticate(
      Cert({"uri:spiffe://acme/cluster"}, "Bearer " + token));
  ASSERT_THAT(both, IsOk());
  EXPECT_EQ(both->name, "cluster");
  EXPECT_NE(both->token_accessor, "");
  EXPECT_EQ(both->tls_identity, "uri:spiffe://acme/cluster");
}

TEST_F(IdentityTest, UnknownCertificatesAndMismatchedTokensAreUnauthenticated) {
  AddPrincipal("cluster", {"writers"}, "uri:spiffe://acme/cluster");
  const std::string alice =
      AddPrincipal("alice", {"readers"}, "cn:alice.example.com");
  EXPECT_THAT(
      vault_->identity().Authenticate(Cert({"uri:spiffe://acme/other"})),
      Unauthenticated());
  EXPECT_THAT(vault_->identity().Authenticate(
                  Cert({"uri:spiffe://acme/cluster"}, "Bearer " + alice)),
              Unauthenticated());
  EXPECT_THAT(vault_->identity().Authenticate(
                  Cert({"uri:spiffe://acme/other"}, "Bearer " + alice)),
              Unauthenticated());
  EXPECT_THAT(vault_->identity().Authenticate(
                  Cert({"uri:spiffe://acme/cluster"}, "Bearer junk")),
              Unauthenticated())
      << "a bad token is not excused by a good certificate";
  EXPECT_THAT(vault_->identity().Authenticate(Cert({std::string(5000, 'x')})),
              Unauthenticated());
}

TEST_F(IdentityTest, TheKindIsPartOfTheIdentity) {
  AddPrincipal("cluster", {"writers"}, "uri:spiffe://acme/cluster");
  AddPrincipal("alice", {"readers"}, "cn:alice");
  // A certificate whose CN merely looks like the URI, or whose URI SAN is
  // the CN, is not that principal.
  EXPECT_THAT(
      vault_->identity().Authenticate(Cert({"cn:spiffe://acme/cluster"})),
      Unauthenticated());
  EXPECT_THAT(vault_->identity().Authenticate(Cert({"uri:alice"})),
              Unauthenticated());
  // An unregistered URI SAN does not hide a registered CN.
  EXPECT_THAT(
      vault_->identity().Authenticate(Cert({"uri:spiffe://x/y", "cn:alice"})),
      IsOkAndHolds(testing::Field(&mv::Principal::tls_identity, "cn:alice")));
}

TEST_F(IdentityTest, ACertificateThatTwoPrincipalsClaimIsRefused) {
  AddPrincipal("cluster", {"writers"}, "uri:spiffe://acme/cluster");
  AddPrincipal("alice", {"readers"}, "cn:alice");
  EXPECT_THAT(vault_->identity().Authenticate(
                  Cert({"uri:spiffe://acme/cluster", "cn:alice"})),
              Unauthenticated());
  EXPECT_THAT(vault_->identity().Authenticate(Cert(std::vector<std::string>(
                  mv::kMaxCertIdentitiesPerCall + 1, "cn:alice"))),
              Unauthenticated());
}

TEST_F(IdentityTest, ACertificateIdentityBelongsToOnePrincipal) {
  ASSERT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info("a", {}, "cn:CN-one")),
              IsOk());
  EXPECT_THAT(
      vault_->identity().CreatePrincipal(mv::RootCaller(),
                                         Info("b", {}, "cn:CN-one")),
      StatusIs(absl::StatusCode::kAlreadyExists,
               "certificate identity cn:CN-one already maps to principal a"));
  EXPECT_THAT(vault_->identity().GetPrincipal("b"), Not(IsOk()))
      << "nothing half-created";
  for (const char* bad : {"cn:has space", "CN-one", "spiffe://acme/x",
                          "cn:", "URI:spiffe://acme/x"}) {
    EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                   Info("c", {}, bad)),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("certificate identity")))
        << bad;
  }
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info("c", {}, "CN-one")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("uri:SAN-URI or cn:COMMON-NAME")));
  // Deleting the principal frees its identity, and the certificate no
  // longer authenticates.
  ASSERT_THAT(vault_->identity().DeletePrincipal(mv::RootCaller(), "a"),
              IsOk());
  EXPECT_THAT(vault_->identity().Authenticate(Cert({"cn:CN-one"})),
              Unauthenticated());
  EXPECT_THAT(vault_->identity().CreatePrincipal(mv::RootCaller(),
                                                 Info("b", {}, "cn:CN-one")),
              IsOk());
  EXPECT_THAT(vault_->identity().Authenticate(Cert({"cn:CN-one"})),
              IsOkAndHolds(testing::Field(&mv::Principal::name, "b")));
}

// ---- policies ----

TEST_F(IdentityTest, PutPolicyStoresTheCanonicalDocument) {
  const std::string messy =
      R"({"rules":[{"actions":["list","read"],"effect":"allow","artifacts":["x/**"],
          "conditions":{"max_bytes_per_day":"1KiB"}}]})";
  absl::StatusOr<mv::Policy> put =
      vault_->identity().PutPolicy(mv::RootCaller(), "messy", messy);
  ASSERT_THAT(put, IsOk());
  EXPECT_EQ(put->name, "messy");
  absl::StatusOr<mv::Policy> parsed = mv::ParsePolicy("messy", messy);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_THAT(vault_->identity().GetPolicy("messy"),
              IsOkAndHolds(mv::PolicyToJson(*parsed)));
  Reopen();
  EXPECT_THAT(vault_->identity().GetPolicy("messy"),
              IsOkAndHolds(mv::PolicyToJson(*parsed)));
  EXPECT_THAT(vault_->identity().ListPolicies(),
              ElementsAre("messy", "readers", "root", "writers"));
}

TEST_F(IdentityTest, PutPolicyRejectsBadDocumentsAndNames) {
  EXPECT_THAT(vault_->identity().PutPolicy(
                  mv::RootCaller(), "p",
                  R"({"rules":[{"effect":"allow","artifacts":["a/*"],
                                         "actions":["fly"]}]})"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rules[0].actions")));
  EXPECT_THAT(vault_->identity().PutPolicy(mv::RootCaller(), "p", "not json"),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::_));
  EXPECT_THAT(
      vault_->identity().PutPolicy(mv::RootCaller(), "root",
                                   AllowJson(R"(["**"])", R"(["read"])")),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("reserved")));
  for (const char* bad : {"", "Caps", "a/b", "-x"}) {
    EXPECT_THAT(
        vault_->identity().PutPolicy(mv::RootCaller(), bad,
                                     AllowJson(R"(["**"])", R"(["read"])")),
        StatusIs(absl::StatusCode::kInvalidArgument, testing::_))
        << bad;
  }
  EXPECT_THAT(vault_->identity().ListPolicies(),
              ElementsAre("readers", "root", "writers"));
}

TEST_F(IdentityTest, GetPolicyOfRootDescribesTheBuiltInAndMissingIsNotFound) {
  absl::StatusOr<std::string> root = vault_->identity().GetPolicy("root");
  ASSERT_THAT(root, IsOk());
  EXPECT_THAT(*root, AllOf(HasSubstr("**"), HasSubstr("admin:backup")));
  EXPECT_THAT(
      vault_->identity().GetPolicy("nosuch"),
      StatusIs(absl::StatusCode::kNotFound, "policy not found: nosuch"));
  EXPECT_THAT(vault_->identity().GetPolicy(std::string(600, 'a')),
              StatusIs(absl::StatusCode::kNotFound, testing::_));
}

TEST_F(IdentityTest, DeletePolicyRefusesWhileAPrincipalOrTokenUsesIt) {
  ASSERT_THAT(vault_->identity().CreatePrincipal(
                  mv::RootCaller(), Info("alice", {"readers", "writers"})),
              IsOk());
  mv::TokenSpec spec;
  spec.principal = "alice";
  spec.policies = {"writers"};
  absl::StatusOr<mv::IssuedToken> token =
      vault_->identity().CreateToken(mv::RootCaller(), spec);
  ASSERT_THAT(token, IsOk());
  EXPECT_THAT(
      vault_->identity().DeletePolicy("readers"),
      StatusIs(
          absl::StatusCode::kFailedPrecondition,
          AllOf(HasSubstr("policy readers is still used by principals [alice]"),
                HasSubstr("tokens []"))));
  ASSERT_THAT(
      vault_->identity().DetachPolicy(mv::RootCaller(), "alice", "writers"),
      IsOk());
  EXPECT_THAT(
      vault_->identity().DeletePolicy("writers"),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("principals []"),
                     HasSubstr("tokens [" + token->info.accessor + "]"))));
  ASSERT_THAT(
      vault_->identity().RevokeToken(mv::RootCaller(), token->info.accessor),
      IsOk());
  EXPECT_THAT(vault_->identity().DeletePolicy("writers"), IsOk());
  EXPECT_THAT(vault_->identity().GetPolicy("writers"),
              StatusIs(absl::StatusCode::kNotFound, testing::_));
  EXPECT_THAT(
      vault_->identity().DeletePolicy("writers"),
      StatusIs(absl::StatusCode::kNotFound, "policy not found: writers"));
  EXPECT_THAT(
      vault_->identity().DeletePolicy("root"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("built in")));
  EXPECT_THAT(vault_->identity().ListPolicies(),
              ElementsAre("readers", "root"));
}

// ---- Authorize ----

TEST_F(IdentityTest, AuthorizeAllowsWhatThePoliciesSayAndNothingElse) {
  const mv::Principal reader = *Login(AddPrincipal("reader", {"readers"}));
  absl::StatusOr<mv::Decision> d = vault_->identity().Authorize(
      reader, Request(mv::Action::kRead, "acme/x"));
  ASSERT_THAT(d, IsOk());
  ASSERT_THAT(d->allowed_by, testing::SizeIs(1));
  EXPECT_EQ(d->allowed_by[0].policy, "readers");
  EXPECT_EQ(d->allowed_by[0].index, 0u);
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kWrite, "acme/x")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "permission denied: write on acme/x"));
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kAdminTokens, "")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       "permission denied: admin:tokens"));
  EXPECT_TRUE(vault_->identity().MayList(reader, "acme/x", ""));
  EXPECT_FALSE(vault_->identity().MayList(reader, "other/x", ""));
  const mv::Principal root = *Login(root_token_);
  EXPECT_THAT(
      vault_->identity().Authorize(root, Request(mv::Action::kAdminBackup, "")),
      IsOk());
  EXPECT_TRUE(vault_->identity().MayList(root, "anything/at/all", ""));
}

TEST_F(IdentityTest, DenialsDoNotRevealWhetherAnArtifactExists) {
  ASSERT_THAT(Upload("secret/model", "weights"), IsOk());
  const mv::Principal reader = *Login(AddPrincipal("reader", {"readers"}));
  absl::StatusOr<mv::Decision> existing = vault_->identity().Authorize(
      reader, Request(mv::Action::kRead, "secret/model"));
  absl::StatusOr<mv::Decision> missing = vault_->identity().Authorize(
      reader, Request(mv::Action::kRead, "secret/nothing"));
  EXPECT_THAT(existing, StatusIs(absl::StatusCode::kPermissionDenied,
                                 "permission denied: read on secret/model"));
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kPermissionDenied,
                                "permission denied: read on secret/nothing"));
}

TEST_F(IdentityTest, ADenyRuleIsNamedInTheDenial) {
  PutPolicy("no-internal",
            R"({"rules": [{"effect": "deny", "artifacts": ["acme/*-internal"],
                                          "actions": ["read"]}]})");
  const mv::Principal reader =
      *Login(AddPrincipal("reader", {"readers", "no-internal"}));
  EXPECT_THAT(
      vault_->identity().Authorize(
          reader, Request(mv::Action::kRead, "acme/llama-internal")),
      StatusIs(
          absl::StatusCode::kPermissionDenied,
          AllOf(HasSubstr("permission denied: read on acme/llama-internal"),
                HasSubstr("denied by policy no-internal rule 0"))));
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kRead, "acme/llama")),
              IsOk());
}

TEST_F(IdentityTest, AuthorizeUsesTheVaultClockUnlessTheRequestHasATime) {
  // The fake clock starts at 2023-11-14T22:13:20Z.
  PutPolicy("from-2024",
            R"({"rules": [{"effect": "allow", "artifacts": ["acme/**"],
      "actions": ["read"], "conditions": {"not_before": "2024-01-01T00:00:00Z"}}]})");
  const mv::Principal who = *Login(AddPrincipal("later", {"from-2024"}));
  EXPECT_THAT(
      vault_->identity().Authorize(who, Request(mv::Action::kRead, "acme/x")),
      StatusIs(absl::StatusCode::kPermissionDenied, testing::_));
  mv::AccessRequest unset;  // absl::Time() is the epoch: treated as unset too
  unset.artifact = "acme/x";
  EXPECT_THAT(vault_->identity().Authorize(who, unset), Not(IsOk()));
  mv::AccessRequest explicit_time = Request(mv::Action::kRead, "acme/x");
  explicit_time.now = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_THAT(vault_->identity().Authorize(who, explicit_time), IsOk());
  clock_.Advance(absl::Hours(24 * 60));
  EXPECT_THAT(
      vault_->identity().Authorize(who, Request(mv::Action::kRead, "acme/x")),
      IsOk());
  EXPECT_THAT(vault_->identity().Authorize(who, unset), IsOk());
}

TEST_F(IdentityTest,
       PolicyChangesApplyToTheNextRequestAndOldDecisionsStayValid) {
  const mv::Principal reader = *Login(AddPrincipal("reader", {"readers"}));
  absl::StatusOr<mv::Decision> before = vault_->identity().Authorize(
      reader, Request(mv::Action::kRead, "acme/x"));
  ASSERT_THAT(before, IsOk());
  PutPolicy("readers", AllowJson(R"(["other/**"])", R"(["read"])"));
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kRead, "acme/x")),
              StatusIs(absl::StatusCode::kPermissionDenied, testing::_));
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kRead, "other/x")),
              IsOk());
  // The replaced policy outlives the swap: the old decision's rule is intact.
  ASSERT_NE(before->allowed_by[0].rule, nullptr);
  EXPECT_THAT(before->allowed_by[0].rule->artifacts, ElementsAre("acme/**"));
  Reopen();
  EXPECT_THAT(vault_->identity().Authorize(
                  reader, Request(mv::Action::kRead, "other/x")),
              IsOk());
}

TEST_F(IdentityTest, AStoredPolicyThatNoLongerParsesRefusesToOpen) {
  CloseVault();
  ASSERT_THAT(EditRaw([](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("policies"), "broken", "{not json");
              }),
              IsOk());
  EXPECT_THAT(OpenVault(),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("stored policy broken does not parse")));
}

}  // namespace
}  // namespace mvtesting
