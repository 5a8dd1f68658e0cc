// Property tests: Evaluate against an obviously-correct reference evaluator
// on random policy sets and requests drawn from small alphabets (so that
// globs, networks and windows match often), explicit deny always winning,
// and Parse(ToJson(p)) == p for random policies.
//
// Counts: AgreesWithReference checks 2,000 rapidcheck cases x 50 requests;
// AgreesWithReferenceOnManySets checks 100,000 freshly generated policy
// sets with 2 requests each (seeded std::mt19937_64); the glob matchers are
// checked on 5,000 globs x 20 names.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <functional>
#include <random>

#include "access/glob.h"
#include "access/policy.h"
#include "src/access/ref_glob.h"
#include "testing/property.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

// ---- The reference: naive, recursive, no index. ----

bool RefMatches(const Rule& rule, const AccessRequest& r) {
  const Conditions& c = rule.conditions;
  bool admin =
      static_cast<int>(r.action) >= static_cast<int>(Action::kAdminPrincipals);
  return rule.Has(r.action) &&
         (admin || std::any_of(rule.artifacts.begin(), rule.artifacts.end(),
                               [&](const std::string& g) {
                                 return RefGlob(g, r.artifact);
                               })) &&
         (!c.not_before || *c.not_before <= r.now) &&
         (!c.not_after || r.now < *c.not_after) &&
         (!c.require_fingerprint || r.fingerprinted) &&
         (c.source_cidrs.empty() ||
          std::any_of(
              c.source_cidrs.begin(), c.source_cidrs.end(),
              [&](const Cidr& n) { return n.Contains(r.peer_address); }));
}

// allowed_by as (policy, index) pairs, or the deny reason.
struct RefDecision {
  bool allowed = false;
  std::vector<std::pair<std::string, uint32_t>> allowed_by;
  std::string deny_reason;
};

RefDecision RefEvaluate(const std::vector<const Policy*>& policies,
                        const AccessRequest& r) {
  RefDecision d;
  for (const Policy* p : policies)
    if (p->name == "root") return {true, {{"root", 0}}, ""};
  for (const Policy* p : policies)
    for (uint32_t i = 0; i < p->rules.size(); ++i) {
      if (!RefMatches(p->rules[i], r)) continue;
      if (p->rules[i].effect == Rule::Effect::kDeny)
        return {false,
                {},
                "denied by policy " + p->name + " rule " + std::to_string(i)};
      d.allowed_by.emplace_back(p->name, i);
    }
  d.allowed = !d.allowed_by.empty();
  return d;
}

// ---- Generators over a `pick(n)` source of integers in [0, n). ----

using Pick = std::function<int(int)>;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
absl::Time SmallTime(const Pick& pick) { return kT0 + absl::Seconds(pick(4)); }

std::string GenName(const Pick& pick) {
  static const char* kSegments[] = {"a", "b", "ab"};
  std::string name = kSegments[pick(3)];
  for (int n = pick(3); n > 0; --n)
    name += std::string("/") + kSegments[pick(3)];
  return name;
}

std::string GenGlob(const Pick& pick) {
  static const char* kTokens[] = {"a", "b", "*", "**", "/", "a/", "/b"};
  std::string glob;
  for (int n = 1 + pick(5); n > 0; --n) glob += kTokens[pick(7)];
  while (glob.find("***") != std::string::npos) glob.erase(glob.find("***"), 1);
  return glob;
}

const char* const kCidrs[] = {"10.0.0.0/8", "10.1.0.0/16", "::1/128", "::/0",
                              "0.0.0.0/0"};
const char* const kPeers[] = {"10.1.2.3",        "10.2.0.1", "::1",
                              "::ffff:10.1.0.1", "",         "bogus",
                              "192.168.0.1"};
const Action kSmallActions[] = {Action::kRead, Action::kList, Action::kWrite,
                                Action::kAdminKeys, Action::kAdminAudit};

Rule GenRule(const Pick& pick) {
  Rule r;
  r.effect = pick(4) == 0 ? Rule::Effect::kDeny : Rule::Effect::kAllow;
  for (int n = 1 + pick(2); n > 0; --n)
    r.actions |= 1u << static_cast<int>(kSmallActions[pick(5)]);
  for (int n = pick(3); n > 0 || r.artifacts.empty(); --n)
    r.artifacts.push_back(GenGlob(pick));
  Conditions& c = r.conditions;
  if (pick(4) == 0)
    for (int n = 1 + pick(2); n > 0; --n)
      c.source_cidrs.push_back(*Cidr::Parse(kCidrs[pick(5)]));
  if (pick(4) == 0) c.not_before = SmallTime(pick);
  if (pick(4) == 0) c.not_after = SmallTime(pick);
  if (pick(6) == 0) c.require_fingerprint = true;
  if (pick(6) == 0) c.max_downloads_per_day = pick(3);
  return r;
}

std::vector<Policy> GenPolicies(const Pick& pick) {
  std::vector<Policy> policies(pick(4));
  for (size_t i = 0; i < policies.size(); ++i) {
    policies[i].name = pick(30) == 0 ? "root" : "p" + std::to_string(i);
    for (int n = 1 + pick(5); n > 0; --n)
      policies[i].rules.push_back(GenRule(pick));
    if (pick(4) != 0) IndexPolicy(&policies[i]);  // the rest take the slow path
  }
  return policies;
}

AccessRequest GenRequest(const Pick& pick) {
  AccessRequest r;
  r.action = kSmallActions[pick(5)];
  r.artifact = IsAdminAction(r.action) ? "" : GenName(pick);
  r.peer_address = kPeers[pick(7)];
  r.now = kT0 + absl::Seconds(pick(6) - 1) + absl::Nanoseconds(pick(3) - 1);
  r.fingerprinted = pick(2) == 0;
  return r;
}

std::vector<const Policy*> Pointers(const std::vector<Policy>& policies) {
  std::vector<const Policy*> out;
  for (const Policy& p : policies) out.push_back(&p);
  return out;
}

// "" if they agree, else a description of the disagreement.
std::string Disagreement(const std::vector<const Policy*>& policies,
                         const AccessRequest& r) {
  Decision got = Evaluate(policies, r);
  RefDecision want = RefEvaluate(policies, r);
  std::vector<std::pair<std::string, uint32_t>> got_by;
  for (const RuleRef& ref : got.allowed_by) {
    got_by.emplace_back(ref.policy, ref.index);
    bool root = ref.policy == "root";
    const Policy* owner = nullptr;
    for (const Policy* p : policies)
      if (p->name == ref.policy) owner = p;
    if (!root && (owner == nullptr || ref.rule != &owner->rules[ref.index]))
      return "RuleRef::rule does not point at the policy's rule";
  }
  if (got.allowed != want.allowed || got_by != want.allowed_by ||
      (!want.deny_reason.empty() && got.reason != want.deny_reason)) {
    std::string out = "request " + std::string(ActionName(r.action)) + " " +
                      r.artifact + " from " + r.peer_address +
                      (r.fingerprinted ? " fingerprinted" : "") + " at " +
                      absl::FormatTime(r.now) + "\n";
    for (const Policy* p : policies)
      out += p->name + ": " + PolicyToJson(*p) + "\n";
    out += "got " + std::string(got.allowed ? "allow" : "deny") + " (" +
           got.reason + "), reference " + (want.allowed ? "allow" : "deny") +
           " (" + want.deny_reason + ")";
    return out;
  }
  return "";
}

Pick RcPick() {
  return [](int n) { return *rc::gen::inRange(0, n); };
}

TEST(PolicyPropertyTest, AgreesWithReference) {
  mvtesting::CheckProperty(2000, [] {
    Pick pick = RcPick();
    std::vector<Policy> policies = GenPolicies(pick);
    std::vector<const Policy*> ptrs = Pointers(policies);
    for (int i = 0; i < 50; ++i) {
      AccessRequest r = GenRequest(pick);
      std::string diff = Disagreement(ptrs, r);
      RC_ASSERT(diff == "");
    }
  });
}

TEST(PolicyPropertyTest, GlobMatchersAgreeWithReference) {
  mvtesting::CheckProperty(5000, [] {
    Pick pick = RcPick();
    std::string glob = GenGlob(pick);
    for (int i = 0; i < 20; ++i) {
      std::string name =
          pick(4) == 0 ? GenGlob(pick) : GenName(pick);  // odd names too
      bool want = RefGlob(glob, name);
      RC_ASSERT(GlobMatch(glob, name) == want);
      RC_ASSERT(access_internal::MatchNfa(glob, name) == want);
      RC_ASSERT(access_internal::CompiledGlob(glob).Match(name) == want);
    }
  });
}

TEST(PolicyPropertyTest, ExplicitDenyAlwaysWins) {
  mvtesting::CheckProperty(2000, [] {
    Pick pick = RcPick();
    std::vector<Policy> policies = GenPolicies(pick);
    for (Policy& p : policies)
      if (p.name == "root") p.name = "not-root";
    AccessRequest r = GenRequest(pick);
    // A deny rule that matches `r` exactly, in a random place.
    Rule deny;
    deny.effect = Rule::Effect::kDeny;
    deny.actions = 1u << static_cast<int>(r.action);
    deny.artifacts = {r.artifact.empty() ? "**" : r.artifact};
    policies.push_back({"denier", {}, nullptr});
    Policy& target = policies[pick(static_cast<int>(policies.size()))];
    target.rules.insert(
        target.rules.begin() + pick(static_cast<int>(target.rules.size()) + 1),
        deny);
    if (pick(2) == 0)
      IndexPolicy(&target);
    else
      target.index = nullptr;
    Decision d = Evaluate(Pointers(policies), r);
    RC_ASSERT(!d.allowed);
    RC_ASSERT(d.allowed_by.empty());
    RC_ASSERT(d.reason.starts_with("denied by policy "));
  });
}

TEST(PolicyPropertyTest, AgreesWithReferenceOnManySets) {
  std::mt19937_64 rng(20261129);
  Pick pick = [&rng](int n) {
    return static_cast<int>(rng() % static_cast<uint64_t>(n));
  };
  int allowed = 0, denied_explicitly = 0;
  for (int set = 0; set < 100'000; ++set) {
    std::vector<Policy> policies = GenPolicies(pick);
    std::vector<const Policy*> ptrs = Pointers(policies);
    for (int i = 0; i < 2; ++i) {
      AccessRequest r = GenRequest(pick);
      std::string diff = Disagreement(ptrs, r);
      ASSERT_EQ(diff, "") << "set " << set;
      Decision d = Evaluate(ptrs, r);
      allowed += d.allowed;
      denied_explicitly += d.reason.starts_with("denied by");
    }
  }
  // The alphabets are small enough that both outcomes are common.
  EXPECT_GT(allowed, 20'000);
  EXPECT_GT(denied_explicitly, 5'000);
}

TEST(PolicyPropertyTest, CanonicalJsonRoundTrips) {
  mvtesting::CheckProperty(1000, [] {
    Pick pick = RcPick();
    Policy p;
    p.name = "p" + std::to_string(pick(1000));
    for (int n = 1 + pick(4); n > 0; --n) {
      Rule r = GenRule(pick);
      r.actions |= *rc::gen::inRange<uint32_t>(0, 1u << kActionCount);
      if (r.conditions.not_before && r.conditions.not_after &&
          *r.conditions.not_before >= *r.conditions.not_after) {
        r.conditions.not_after =
            *r.conditions.not_before +
            absl::Nanoseconds(*rc::gen::inRange(1, 1'000'000'000));
      }
      if (pick(3) == 0)
        r.conditions.max_bytes_per_day = *rc::gen::arbitrary<uint64_t>();
      if (pick(3) == 0)
        r.conditions.max_downloads_per_day = *rc::gen::arbitrary<uint64_t>();
      if (pick(3) == 0) {
        std::array<uint8_t, 16> a =
            *rc::gen::arbitrary<std::array<uint8_t, 16>>();
        Cidr c{a, *rc::gen::inRange(0, 129)};
        for (int bit = c.prefix_bits; bit < 128; ++bit)
          c.network[bit / 8] &= ~(0x80 >> (bit % 8));
        r.conditions.source_cidrs.push_back(c);
      }
      p.rules.push_back(r);
    }
    std::string json = PolicyToJson(p);
    absl::StatusOr<Policy> again = ParsePolicy(p.name, json);
    RC_ASSERT(again.ok());
    RC_ASSERT(*again == p);
    RC_ASSERT(PolicyToJson(*again) == json);
  });
}

}  // namespace
}  // namespace mv
