// No escalation by delegation (issue [security] item 1): the attacks the
// issue reported, their variants, the grants that stay allowed, and a
// rapidcheck property over random policy sets: after any admin operation,
// every principal's (and every new token's) rights are within what it had
// before plus the caller's own.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <set>

#include "testing/property.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;

constexpr absl::StatusCode kDenied = absl::StatusCode::kPermissionDenied;

class EscalationTest : public VaultTest {
 protected:
  // A principal with `policies` as the caller of an admin use case.
  mv::Principal As(const std::string& name) {
    absl::StatusOr<mv::PrincipalInfo> info =
        vault_->identity().GetPrincipal(name);
    EXPECT_THAT(info, IsOk());
    mv::Principal who;
    who.name = name;
    if (info.ok()) who.policies = info->policies;
    return who;
  }
  void Admin(const std::string& name, const std::string& actions) {
    PutPolicy(name + "-policy",
              R"({"rules":[{"effect":"allow","actions":)" + actions + "}]}");
    AddPrincipal(name, {name + "-policy"});
  }
  bool MayRead(const mv::Principal& who, const std::string& artifact) {
    mv::AccessRequest r;
    r.action = mv::Action::kRead;
    r.artifact = artifact;
    return vault_->identity().Authorize(who, r).ok();
  }
};

TEST_F(EscalationTest, TokenAdminCannotMintARootToken) {
  Admin("tokener", R"(["admin:tokens"])");
  mv::TokenSpec spec;
  spec.principal = "root";
  EXPECT_THAT(vault_->identity().CreateToken(As("tokener"), spec),
              StatusIs(kDenied, HasSubstr("holds the root policy")));
  // Nor a token for a principal that holds more than the caller.
  PutPolicy("readers", AllowJson(R"(["**"])", R"(["read"])"));
  AddPrincipal("reader", {"readers"});
  spec.principal = "reader";
  EXPECT_THAT(vault_->identity().CreateToken(As("tokener"), spec),
              StatusIs(kDenied, HasSubstr("cannot grant policy readers rule 0 "
                                          "(read on **)")));
  EXPECT_THAT(vault_->identity().ListTokens("root"), ::testing::SizeIs(1));
}

TEST_F(EscalationTest, PrincipalAdminCannotAttachRootOrWiderPolicies) {
  Admin("pa", R"(["admin:principals"])");
  EXPECT_THAT(vault_->identity().AttachPolicy(As("pa"), "pa", "root"),
              StatusIs(kDenied, HasSubstr("only a root caller")));
  PutPolicy("readers", AllowJson(R"(["**"])", R"(["read"])"));
  EXPECT_THAT(vault_->identity().AttachPolicy(As("pa"), "pa", "readers"),
              StatusIs(kDenied, HasSubstr("read on **")));
  mv::PrincipalInfo info;
  info.name = "sock";
  info.policies = {"root"};
  EXPECT_THAT(vault_->identity().CreatePrincipal(As("pa"), info),
              StatusIs(kDenied, HasSubstr("only a root caller")));
  EXPECT_THAT(vault_->identity().GetPrincipal("sock"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  EXPECT_EQ(vault_->identity().GetPrincipal("pa")->policies,
            std::vector<std::string>{"pa-policy"});
}

TEST_F(EscalationTest, PolicyAdminCannotWidenItsOwnPolicy) {
  Admin("po", R"(["admin:policies"])");
  const std::string wider =
      R"({"rules":[{"effect":"allow","actions":["admin:policies"]},
                   {"effect":"allow","artifacts":["**"],"actions":["read"]}]})";
  EXPECT_THAT(vault_->identity().PutPolicy(As("po"), "po-policy", wider),
              StatusIs(kDenied, HasSubstr("policy po-policy rule 1 (read on "
                                          "**)")));
  EXPECT_FALSE(MayRead(As("po"), "acme/secret"));
  EXPECT_THAT(vault_->identity().GetPolicy("po-policy"),
              IsOkAndHolds(::testing::Not(HasSubstr("read"))));
}

TEST_F(EscalationTest, LiftingADenyIsGrantingWhatItDenied) {
  PutPolicy("acme-read", AllowJson(R"(["acme/**"])", R"(["read"])"));
  PutPolicy("fence", R"({"rules":[{"effect":"deny","artifacts":["acme/secret"],
                                   "actions":["read"]}]})");
  AddPrincipal("intern", {"acme-read", "fence"});
  // An admin whose own rights stop at acme/public/** may not lift the fence.
  PutPolicy("limited", R"({"rules":[
      {"effect":"allow","actions":["admin:principals","admin:policies"]},
      {"effect":"allow","artifacts":["acme/public/**"],"actions":["read"]}]})");
  AddPrincipal("lead", {"limited"});
  EXPECT_THAT(vault_->identity().DetachPolicy(As("lead"), "intern", "fence"),
              StatusIs(kDenied, HasSubstr("policy fence rule 0 (read on "
                                          "acme/secret)")));
  EXPECT_THAT(
      vault_->identity().PutPolicy(As("lead"), "fence",
                                   R"({"rules":[{"effect":"deny","artifacts":
                                   ["acme/other"],"actions":["read"]}]})"),
      StatusIs(kDenied, HasSubstr("acme/secret")));
  EXPECT_FALSE(MayRead(As("intern"), "acme/secret"));
  // Adding deny rules is always allowed.
  EXPECT_THAT(
      vault_->identity().PutPolicy(As("lead"), "fence",
                                   R"({"rules":[{"effect":"deny","artifacts":
                                   ["acme/secret","acme/other"],
                                   "actions":["read"]}]})"),
      IsOk());
}

TEST_F(EscalationTest, OnlyRootTouchesRootHolders) {
  Admin("boss", R"(["admin:principals","admin:tokens"])");
  AddPrincipal("deputy", {"root"});
  PutPolicy("nothing", R"({"rules":[{"effect":"deny","artifacts":["**"],
                                     "actions":["read"]}]})");
  EXPECT_THAT(vault_->identity().AttachPolicy(As("boss"), "deputy", "nothing"),
              StatusIs(kDenied, HasSubstr("principal deputy holds the root")));
  EXPECT_THAT(vault_->identity().DetachPolicy(As("boss"), "deputy", "root"),
              StatusIs(kDenied, ::testing::_));
  EXPECT_THAT(vault_->identity().DeletePrincipal(As("boss"), "deputy"),
              StatusIs(kDenied, ::testing::_));
  const std::vector<mv::TokenInfo> root_tokens =
      vault_->identity().ListTokens("root");
  ASSERT_EQ(root_tokens.size(), 1u);
  EXPECT_THAT(
      vault_->identity().RevokeToken(As("boss"), root_tokens[0].accessor),
      StatusIs(kDenied, ::testing::_));
  EXPECT_THAT(Login(root_token_), IsOk());
  EXPECT_THAT(vault_->identity().GetPrincipal("deputy"),
              IsOkAndHolds(::testing::Field(&mv::PrincipalInfo::policies,
                                            std::vector<std::string>{"root"})));
  // Root itself may.
  EXPECT_THAT(vault_->identity().DeletePrincipal(root_, "deputy"), IsOk());
}

TEST_F(EscalationTest, CoveredGrantsStillWork) {
  PutPolicy("team", R"({"rules":[
      {"effect":"allow","actions":["admin:principals","admin:tokens",
                                   "admin:policies"]},
      {"effect":"allow","artifacts":["acme/**"],"actions":["read","list"]}]})");
  AddPrincipal("lead", {"team"});
  EXPECT_THAT(vault_->identity().PutPolicy(
                  As("lead"), "llama-readers",
                  AllowJson(R"(["acme/llama-*"])", R"(["read"])")),
              IsOk());
  mv::PrincipalInfo info;
  info.name = "trainer";
  info.policies = {"llama-readers"};
  EXPECT_THAT(vault_->identity().CreatePrincipal(As("lead"), info), IsOk());
  mv::TokenSpec spec;
  spec.principal = "trainer";
  absl::StatusOr<mv::IssuedToken> token =
      vault_->identity().CreateToken(As("lead"), spec);
  ASSERT_THAT(token, IsOk());
  absl::StatusOr<mv::Principal> trainer = Login(token->token);
  ASSERT_THAT(trainer, IsOk());
  EXPECT_TRUE(MayRead(*trainer, "acme/llama-3"));
  EXPECT_FALSE(MayRead(*trainer, "acme/secret"));
}

TEST_F(EscalationTest, UnmatchableGlobsAreRefusedOnPut) {
  EXPECT_THAT(vault_->identity().PutPolicy(
                  root_, "upper", AllowJson(R"(["ACME/**"])", R"(["read"])")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("rules[0].artifacts[0]: glob ACME/** can "
                                 "never match")));
  EXPECT_THAT(vault_->identity().GetPolicy("upper"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

// ---- The property ----

// The requests every principal's rights are compared on.
std::vector<mv::AccessRequest> Grid() {
  std::vector<mv::AccessRequest> out;
  for (mv::Action a : {mv::Action::kRead, mv::Action::kWrite, mv::Action::kList,
                       mv::Action::kAdminPrincipals, mv::Action::kAdminPolicies,
                       mv::Action::kAdminTokens}) {
    for (const char* name : {"acme/x", "acme/y", "acme/x/y", "bob/x"}) {
      mv::AccessRequest r;
      r.action = a;
      r.artifact = mv::IsAdminAction(a) ? "" : name;
      out.push_back(r);
      if (mv::IsAdminAction(a)) break;
    }
  }
  return out;
}

rc::Gen<std::string> PolicyDoc() {
  static const std::vector<std::string> kGlobs = {"**",     "acme/**", "acme/*",
                                                  "acme/x", "bob/**",  "bob/x"};
  static const std::vector<std::string> kActions = {
      "read",           "write",       "list", "admin:principals",
      "admin:policies", "admin:tokens"};
  auto rule = rc::gen::apply(
      [](bool deny, size_t glob, std::vector<size_t> actions) {
        std::set<std::string> names;
        for (size_t a : actions) names.insert(kActions[a % kActions.size()]);
        if (names.empty()) names.insert("read");
        std::string json = std::string(R"({"effect":")") +
                           (deny ? "deny" : "allow") + R"(","artifacts":[")" +
                           kGlobs[glob] + R"("],"actions":[)";
        bool first = true;
        for (const std::string& n : names) {
          json += (first ? "\"" : ",\"") + n + "\"";
          first = false;
        }
        return json + "]}";
      },
      rc::gen::weightedElement<bool>({{4, false}, {1, true}}),
      rc::gen::inRange<size_t>(0, kGlobs.size()),
      rc::gen::container<std::vector<size_t>>(
          rc::gen::inRange<size_t>(0, kActions.size())));
  return rc::gen::map(
      rc::gen::resize(3,
                      rc::gen::nonEmpty(
                          rc::gen::container<std::vector<std::string>>(rule))),
      [](const std::vector<std::string>& rules) {
        std::string json = R"({"rules":[)";
        for (size_t i = 0; i < rules.size(); ++i)
          json += (i ? "," : "") + rules[i];
        return json + "]}";
      });
}

rc::Gen<std::vector<std::string>> PolicySubset() {
  return rc::gen::map(
      rc::gen::container<std::vector<bool>>(4, rc::gen::arbitrary<bool>()),
      [](const std::vector<bool>& picks) {
        std::vector<std::string> out;
        for (size_t i = 0; i < picks.size(); ++i)
          if (picks[i]) out.push_back("p" + std::to_string(i));
        return out;
      });
}

// The fixture driven by hand, once per rapidcheck case.
class EscalationProperty : public EscalationTest {
 public:
  void TestBody() override {}
  using EscalationTest::As;
  using VaultTest::AddPrincipal;
  using VaultTest::Login;
  using VaultTest::PutPolicy;
  using VaultTest::SetUp;
  using VaultTest::vault_;
  std::vector<bool> Rights(const mv::Principal& who) {
    std::vector<bool> out;
    for (const mv::AccessRequest& r : Grid())
      out.push_back(vault_->identity().Authorize(who, r).ok());
    return out;
  }
};

TEST(EscalationPropertyTest, NoAdminOperationGrantsMoreThanTheCallerHas) {
  // Rights after ⊆ rights before ∪ the caller's.
  mvtesting::CheckProperty(100, [] {
    EscalationProperty t;
    t.SetUp();
    for (int i = 0; i < 4; ++i)
      t.PutPolicy("p" + std::to_string(i), *PolicyDoc());
    std::vector<std::string> caller_policies = *PolicySubset();
    caller_policies.push_back("adm");
    t.PutPolicy("adm", R"({"rules":[{"effect":"allow","actions":[
        "admin:principals","admin:policies","admin:tokens"]}]})");
    t.AddPrincipal("caller", caller_policies);
    t.AddPrincipal("target", *PolicySubset());
    const mv::Principal caller = t.As("caller");
    const std::vector<bool> mine = t.Rights(caller);
    const std::vector<bool> target_before = t.Rights(t.As("target"));

    const std::string policy = "p" + std::to_string(*rc::gen::inRange(0, 4));
    std::optional<std::string> token;
    switch (*rc::gen::inRange(0, 5)) {
      case 0:
        (void)t.vault_->identity().AttachPolicy(caller, "target", policy);
        break;
      case 1:
        (void)t.vault_->identity().DetachPolicy(caller, "target", policy);
        break;
      case 2:
        (void)t.vault_->identity().PutPolicy(caller, policy, *PolicyDoc());
        break;
      case 3: {
        mv::PrincipalInfo info;
        info.name = "fresh";
        info.policies = *PolicySubset();
        (void)t.vault_->identity().CreatePrincipal(caller, info);
        break;
      }
      default: {
        mv::TokenSpec spec;
        spec.principal = "target";
        absl::StatusOr<mv::IssuedToken> issued =
            t.vault_->identity().CreateToken(caller, spec);
        if (issued.ok()) token = issued->token;
      }
    }
    auto within = [&](const std::vector<bool>& after,
                      const std::vector<bool>& before) {
      for (size_t i = 0; i < after.size(); ++i)
        RC_ASSERT(!after[i] || before[i] || mine[i]);
    };
    within(t.Rights(t.As("target")), target_before);
    within(t.Rights(t.As("caller")), mine);
    if (t.vault_->identity().GetPrincipal("fresh").ok()) {
      within(t.Rights(t.As("fresh")), std::vector<bool>(mine.size(), false));
    }
    if (token) {
      absl::StatusOr<mv::Principal> holder = t.Login(*token);
      RC_ASSERT(holder.ok());
      within(t.Rights(*holder), std::vector<bool>(mine.size(), false));
    }
  });
}

}  // namespace
}  // namespace mvtesting
