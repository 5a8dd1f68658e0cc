#include <gtest/gtest.h>

#include "access/policy.h"
#include "access/policy_index.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using mvtesting::IsOk;

Policy MustParse(std::string_view name, std::string_view json) {
  absl::StatusOr<Policy> p = ParsePolicy(name, json);
  EXPECT_THAT(p, IsOk()) << json;
  return p.ok() ? *std::move(p) : Policy{};
}

absl::Time T(std::string_view rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(
      absl::ParseTime(absl::RFC3339_full, std::string(rfc3339), &t, &err))
      << err;
  return t;
}

AccessRequest Req(Action action, std::string artifact) {
  AccessRequest r;
  r.action = action;
  r.artifact = std::move(artifact);
  r.peer_address = "10.1.2.3";
  r.now = T("2026-06-01T00:00:00Z");
  return r;
}

// Evaluates with the policies' indexes and again without them; both must
// give the same decision.
Decision Eval(const std::vector<const Policy*>& policies,
              const AccessRequest& r) {
  Decision d = Evaluate(policies, r);
  std::vector<Policy> bare;
  for (const Policy* p : policies) bare.push_back({p->name, p->rules, nullptr});
  std::vector<const Policy*> bare_ptrs;
  for (const Policy& p : bare) bare_ptrs.push_back(&p);
  Decision slow = Evaluate(bare_ptrs, r);
  EXPECT_EQ(slow.allowed, d.allowed);
  EXPECT_EQ(slow.reason, d.reason);
  EXPECT_EQ(slow.allowed_by.size(), d.allowed_by.size());
  return d;
}

TEST(EvaluateTest, DeniesByDefault) {
  Decision d = Eval({}, Req(Action::kRead, "acme/x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no policy allows read on acme/x");
  Policy p = MustParse(
      "readers",
      R"({"rules":[{"effect":"allow","artifacts":["acme/*"],"actions":["read"]}]})");
  EXPECT_FALSE(Eval({&p}, Req(Action::kWrite, "acme/x")).allowed);
  EXPECT_FALSE(Eval({&p}, Req(Action::kRead, "other/x")).allowed);
  EXPECT_TRUE(Eval({&p}, Req(Action::kRead, "acme/x")).allowed);
}

TEST(EvaluateTest, ListsEveryMatchingAllowRuleOnceInOrder) {
  Policy a = MustParse("a", R"({"rules":[
      {"effect":"allow","artifacts":["acme/x","acme/*"],"actions":["read"]},
      {"effect":"allow","artifacts":["other/*"],"actions":["read"]},
      {"effect":"allow","artifacts":["**"],"actions":["read","list"]}]})");
  Policy b = MustParse(
      "b",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read"]}]})");
  Decision d = Eval({&a, &b}, Req(Action::kRead, "acme/x"));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "");
  ASSERT_EQ(d.allowed_by.size(), 3u);
  EXPECT_EQ(d.allowed_by[0].policy, "a");
  EXPECT_EQ(d.allowed_by[0].index, 0u);
  EXPECT_EQ(d.allowed_by[0].rule, &a.rules[0]);
  EXPECT_EQ(d.allowed_by[1].index, 2u);
  EXPECT_EQ(d.allowed_by[2].policy, "b");
  EXPECT_EQ(d.allowed_by[2].rule, &b.rules[0]);
}

TEST(EvaluateTest, ExplicitDenyWinsAcrossPolicies) {
  Policy allow = MustParse(
      "allow",
      R"({"rules":[{"effect":"allow","artifacts":["**"],"actions":["read"]}]})");
  Policy deny = MustParse("deny", R"({"rules":[
      {"effect":"allow","artifacts":["acme/*"],"actions":["read"]},
      {"effect":"deny","artifacts":["acme/llama-*-internal"],"actions":["read"]},
      {"effect":"deny","artifacts":["acme/*-internal"],"actions":["read"]}]})");
  Decision d =
      Eval({&allow, &deny}, Req(Action::kRead, "acme/llama-7b-internal"));
  EXPECT_FALSE(d.allowed);
  EXPECT_TRUE(d.allowed_by.empty());
  EXPECT_EQ(d.reason, "denied by policy deny rule 1");
  EXPECT_TRUE(
      Eval({&allow, &deny}, Req(Action::kRead, "acme/llama-7b")).allowed);
  // The deny names read only.
  EXPECT_FALSE(
      Eval({&allow, &deny}, Req(Action::kList, "acme/llama-7b-internal"))
          .allowed);
}

TEST(EvaluateTest, SourceCidrsGateAllowAndDeny) {
  Policy p = MustParse("p", R"({"rules":[
      {"effect":"allow","artifacts":["a/*"],"actions":["read"],"conditions":{"source_cidrs":["10.0.0.0/8","::1/128"]}},
      {"effect":"deny","artifacts":["a/secret"],"actions":["read"],"conditions":{"source_cidrs":["10.9.0.0/16"]}}]})");
  AccessRequest r = Req(Action::kRead, "a/secret");
  EXPECT_TRUE(Eval({&p}, r).allowed);  // the deny's network does not hold
  r.peer_address = "10.9.1.1";
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.peer_address = "::ffff:10.9.1.1";
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.artifact = "a/x";
  r.peer_address = "::1";
  EXPECT_TRUE(Eval({&p}, r).allowed);
  r.peer_address = "192.168.0.1";
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.peer_address = "";
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.peer_address = "garbage";
  EXPECT_FALSE(Eval({&p}, r).allowed);
}

TEST(EvaluateTest, TimeWindowIsInclusiveStartExclusiveEnd) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"],
      "conditions":{"not_before":"2026-01-01T00:00:00Z","not_after":"2026-01-01T08:00:00Z"}}]})");
  AccessRequest r = Req(Action::kRead, "a/x");
  r.now = T("2026-01-01T00:00:00Z") - absl::Nanoseconds(1);
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.now = T("2026-01-01T00:00:00Z");
  EXPECT_TRUE(Eval({&p}, r).allowed);
  r.now = T("2026-01-01T08:00:00Z") - absl::Nanoseconds(1);
  EXPECT_TRUE(Eval({&p}, r).allowed);
  r.now = T("2026-01-01T08:00:00Z");
  EXPECT_FALSE(Eval({&p}, r).allowed);
}

TEST(EvaluateTest, TimeWindowGatesDeny) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["**"],"actions":["read"]},
      {"effect":"deny","artifacts":["**"],"actions":["read"],"conditions":{"not_after":"2026-01-01T00:00:00Z"}}]})");
  AccessRequest r = Req(Action::kRead, "a/x");
  r.now = T("2025-12-31T23:59:59Z");
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.now = T("2026-01-01T00:00:00Z");
  EXPECT_TRUE(Eval({&p}, r).allowed);
}

TEST(EvaluateTest, RequireFingerprintMatchesOnlyFingerprintedRequests) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read","list"],
      "conditions":{"require_fingerprint":true}}]})");
  AccessRequest r = Req(Action::kRead, "a/x");
  EXPECT_FALSE(Eval({&p}, r).allowed);
  r.fingerprinted = true;
  EXPECT_TRUE(Eval({&p}, r).allowed);
  AccessRequest list =
      Req(Action::kList, "a/x");  // list is never fingerprinted
  EXPECT_FALSE(Eval({&p}, list).allowed);
}

TEST(EvaluateTest, ReadExactIsItsOwnActionNotImpliedByRead) {
  EXPECT_EQ(ActionName(Action::kReadExact), "read:exact");
  EXPECT_EQ(ParseAction("read:exact"), Action::kReadExact);
  EXPECT_FALSE(IsAdminAction(Action::kReadExact));
  Policy readers = MustParse(
      "readers",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read"]}]})");
  EXPECT_TRUE(Eval({&readers}, Req(Action::kRead, "acme/x")).allowed);
  Decision d = Eval({&readers}, Req(Action::kReadExact, "acme/x"));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no policy allows read:exact on acme/x");
  Policy exact = MustParse(
      "exact",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read:exact"]}]})");
  EXPECT_TRUE(Eval({&exact}, Req(Action::kReadExact, "acme/x")).allowed);
  EXPECT_FALSE(Eval({&exact}, Req(Action::kRead, "acme/x")).allowed);
  EXPECT_FALSE(Eval({&exact}, Req(Action::kReadExact, "other/x")).allowed);
  // An exact rule still needs artifacts, and round-trips canonically.
  EXPECT_FALSE(
      ParsePolicy("p",
                  R"({"rules":[{"effect":"allow","actions":["read:exact"]}]})")
          .ok());
  absl::StatusOr<Policy> again = ParsePolicy("exact", PolicyToJson(exact));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, exact);
}

TEST(EvaluateTest, BudgetsDoNotAffectMatching) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"],
      "conditions":{"max_downloads_per_day":0,"max_bytes_per_day":"0B"}}]})");
  Decision d = Eval({&p}, Req(Action::kRead, "a/x"));
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.allowed_by[0].rule->conditions.max_downloads_per_day, 0u);
}

TEST(EvaluateTest, AdminActionsIgnoreArtifactGlobs) {
  Policy p = MustParse("p", R"({"rules":[
      {"effect":"allow","actions":["admin:audit"]},
      {"effect":"allow","artifacts":["acme/*"],"actions":["read","admin:tokens"]}]})");
  EXPECT_TRUE(Eval({&p}, Req(Action::kAdminAudit, "")).allowed);
  EXPECT_TRUE(Eval({&p}, Req(Action::kAdminTokens, "")).allowed);
  Decision d = Eval({&p}, Req(Action::kAdminKeys, ""));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no policy allows admin:keys");
  // The admin-only rule does not grant reads.
  EXPECT_FALSE(Eval({&p}, Req(Action::kRead, "other/x")).allowed);
}

TEST(EvaluateTest, RootAllowsEverythingEvenOverDenies) {
  Policy deny = MustParse(
      "deny",
      R"({"rules":[{"effect":"deny","artifacts":["**"],"actions":["read"]}]})");
  Policy root{std::string(kRootPolicy), {}, nullptr};
  for (Action a : {Action::kRead, Action::kDelete, Action::kAdminKeys}) {
    AccessRequest r = Req(a, IsAdminAction(a) ? "" : "acme/x");
    r.peer_address = "";
    Decision d = Eval({&deny, &root}, r);
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ(d.allowed_by.size(), 1u);
    EXPECT_EQ(d.allowed_by[0].policy, "root");
    ASSERT_NE(d.allowed_by[0].rule, nullptr);
    EXPECT_EQ(d.allowed_by[0].rule->conditions, Conditions{});
    EXPECT_TRUE(d.allowed_by[0].rule->Has(a));
  }
}

TEST(EvaluateTest, NullPoliciesAreSkipped) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"]}]})");
  EXPECT_TRUE(Evaluate({nullptr, &p}, Req(Action::kRead, "a/x")).allowed);
}

TEST(EvaluateTest, StaleIndexIsIgnoredWhenRuleCountChanged) {
  Policy p = MustParse(
      "p",
      R"({"rules":[{"effect":"allow","artifacts":["a/*"],"actions":["read"]}]})");
  Rule deny = p.rules[0];
  deny.effect = Rule::Effect::kDeny;
  p.rules.push_back(deny);
  EXPECT_FALSE(Evaluate({&p}, Req(Action::kRead, "a/x")).allowed);
  IndexPolicy(&p);
  EXPECT_FALSE(Evaluate({&p}, Req(Action::kRead, "a/x")).allowed);
}

TEST(EvaluateTest, OverlongGlobsAreEvaluatedWithoutIndex) {
  Rule rule;
  rule.artifacts = {"a/" + std::string(300, 'x') + "*"};
  rule.actions = 1u << static_cast<int>(Action::kRead);
  Policy p{"p", {rule}, nullptr};
  IndexPolicy(&p);
  EXPECT_EQ(p.index, nullptr);
  EXPECT_TRUE(
      Evaluate({&p}, Req(Action::kRead, "a/" + std::string(300, 'x') + "yz"))
          .allowed);
}

TEST(EvaluateTest, IndexBucketsByLiteralFirstSegment) {
  Policy p = MustParse("p", R"({"rules":[
      {"effect":"allow","artifacts":["acme/*","acme/x/**","beta","*/y"],"actions":["read"]},
      {"effect":"allow","actions":["admin:keys"]}]})");
  const PolicyIndex& index = *p.index;
  auto size = [](PolicyIndex::Range r) { return r.second - r.first; };
  EXPECT_EQ(size(index.Wildcard()), 1);
  EXPECT_EQ(index.Glob(*index.Wildcard().first), "*/y");
  EXPECT_EQ(size(index.Keyed()), 3);
  ASSERT_EQ(size(index.Admin()), 1);
  EXPECT_EQ(index.Admin().first->rule, 1u);
  auto [b, e] = index.Bucket(PolicyIndex::HashSegment("acme"));
  EXPECT_EQ(e - b, 2);
  auto [b2, e2] = index.Bucket(PolicyIndex::HashSegment("gamma"));
  EXPECT_EQ(e2 - b2, 0);
  EXPECT_TRUE(Evaluate({&p}, Req(Action::kRead, "beta")).allowed);
  EXPECT_TRUE(Evaluate({&p}, Req(Action::kRead, "q/y")).allowed);
  EXPECT_FALSE(Evaluate({&p}, Req(Action::kRead, "beta/y/z")).allowed);
}

TEST(MayAllowOnSomeArtifactTest, NeedsRootOrAnAllowRuleNamingTheAction) {
  EXPECT_FALSE(MayAllowOnSomeArtifact({}, Action::kTrace));
  Policy readers = MustParse(
      "readers",
      R"({"rules":[{"effect":"allow","artifacts":["acme/*"],"actions":["read"]}]})");
  Policy deny_trace = MustParse(
      "no-trace",
      R"({"rules":[{"effect":"deny","artifacts":["**"],"actions":["trace"]}]})");
  Policy tracers = MustParse(
      "tracers",
      R"({"rules":[{"effect":"allow","artifacts":["other/*"],"actions":["trace"]}]})");
  EXPECT_FALSE(
      MayAllowOnSomeArtifact({&readers, &deny_trace, nullptr}, Action::kTrace));
  EXPECT_TRUE(MayAllowOnSomeArtifact({&readers, &tracers}, Action::kTrace));
  EXPECT_FALSE(MayAllowOnSomeArtifact({&tracers}, Action::kRead));
  Policy root{std::string(kRootPolicy), {}, nullptr};
  EXPECT_TRUE(MayAllowOnSomeArtifact({&root}, Action::kTrace));
}

}  // namespace
}  // namespace mv
