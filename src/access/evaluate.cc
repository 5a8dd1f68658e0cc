// Policy evaluation (semantics in access/policy.h), through each policy's
// index (access/policy_index.h) or rule by rule for unindexed policies.
#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "access/policy_index.h"

namespace mv {
namespace {

const Rule& RootRule() {
  static const Rule* rule = [] {
    auto* r = new Rule;
    r->effect = Rule::Effect::kAllow;
    r->artifacts = {"**"};
    r->actions = (1u << kActionCount) - 1;
    return r;
  }();
  return *rule;
}

// What every rule of every policy is checked against, computed once.
struct Query {
  const AccessRequest& request;
  uint32_t bit;
  bool admin;
  std::optional<std::array<uint8_t, 16>> peer;
};

bool ConditionsHold(const Conditions& c, const Query& q) {
  if (c.not_before && q.request.now < *c.not_before) return false;
  if (c.not_after && q.request.now >= *c.not_after) return false;
  if (c.require_fingerprint && !q.request.fingerprinted) return false;
  if (c.source_cidrs.empty()) return true;
  if (!q.peer) return false;
  return std::any_of(c.source_cidrs.begin(), c.source_cidrs.end(),
                     [&](const Cidr& cidr) { return cidr.Contains(*q.peer); });
}

// Matching rules of one policy: allow rule indices (sorted, unique once
// Finish()ed) and the lowest matching deny rule.
struct PolicyMatches {
  std::vector<uint32_t> allow;
  std::optional<uint32_t> first_deny;

  void Clear() {
    allow.clear();
    first_deny.reset();
  }
  void Add(uint32_t rule, bool deny) {
    if (!deny) {
      allow.push_back(rule);
    } else if (!first_deny || rule < *first_deny) {
      first_deny = rule;
    }
  }
  void Finish() {
    if (allow.size() > 1) {
      std::sort(allow.begin(), allow.end());
      allow.erase(std::unique(allow.begin(), allow.end()), allow.end());
    }
  }
};

// Without an index: every rule, every glob.
void MatchSlowly(const Policy& policy, const Query& q, PolicyMatches* out) {
  for (uint32_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    if (!(rule.actions & q.bit)) continue;
    bool hit =
        q.admin || std::any_of(rule.artifacts.begin(), rule.artifacts.end(),
                               [&](const std::string& g) {
                                 return GlobMatch(g, q.request.artifact);
                               });
    if (hit && ConditionsHold(rule.conditions, q)) {
      out->Add(i, rule.effect == Rule::Effect::kDeny);
    }
  }
}

void MatchEntries(const Policy& policy, const PolicyIndex& index,
                  PolicyIndex::Range range, const Query& q,
                  PolicyMatches* out) {
  for (const PolicyIndex::Entry* e = range.first; e != range.second; ++e) {
    if (!(e->actions & q.bit)) continue;
    if (!q.admin && !e->parts.Match(index.Glob(*e), q.request.artifact))
      continue;
    if ((e->flags & PolicyIndex::kConditional) &&
        !ConditionsHold(policy.rules[e->rule].conditions, q)) {
      continue;
    }
    out->Add(e->rule, e->flags & PolicyIndex::kDeny);
  }
}

void MatchIndexed(const Policy& policy, const PolicyIndex& index,
                  uint64_t segment_hash, const Query& q, PolicyMatches* out) {
  if (q.admin) {
    MatchEntries(policy, index, index.Admin(), q, out);
    return;
  }
  MatchEntries(policy, index, index.Wildcard(), q, out);
  MatchEntries(policy, index, index.Bucket(segment_hash), q, out);
}

}  // namespace

Decision Evaluate(const std::vector<const Policy*>& policies,
                  const AccessRequest& request) {
  Decision decision;
  for (const Policy* p : policies) {
    if (p != nullptr && p->name == kRootPolicy) {
      decision.allowed = true;
      decision.allowed_by.push_back({std::string(kRootPolicy), 0, &RootRule()});
      return decision;
    }
  }
  Query q{request, 1u << static_cast<int>(request.action),
          IsAdminAction(request.action), std::nullopt};
  if (!request.peer_address.empty())
    q.peer = ParseIpAddress(request.peer_address);
  std::string_view artifact = request.artifact;
  uint64_t segment_hash =
      PolicyIndex::HashSegment(artifact.substr(0, artifact.find('/')));

  PolicyMatches matches;
  for (const Policy* p : policies) {
    if (p == nullptr) continue;
    const PolicyIndex* index = p->index.get();
    matches.Clear();
    if (index != nullptr && index->rule_count == p->rules.size()) {
      if (!(index->actions & q.bit)) continue;
      MatchIndexed(*p, *index, segment_hash, q, &matches);
    } else {
      MatchSlowly(*p, q, &matches);
    }
    if (matches.first_deny) {
      decision.allowed_by.clear();
      decision.reason = absl::StrCat("denied by policy ", p->name, " rule ",
                                     *matches.first_deny);
      return decision;
    }
    matches.Finish();
    if (!matches.allow.empty() && decision.allowed_by.empty()) {
      decision.allowed_by.reserve(policies.size());
    }
    for (uint32_t i : matches.allow)
      decision.allowed_by.push_back({p->name, i, &p->rules[i]});
  }
  decision.allowed = !decision.allowed_by.empty();
  if (!decision.allowed) {
    decision.reason = absl::StrCat("no policy allows ",
                                   std::string(ActionName(request.action)));
    if (!q.admin) absl::StrAppend(&decision.reason, " on ", request.artifact);
  }
  return decision;
}

bool MayAllowOnSomeArtifact(const std::vector<const Policy*>& policies,
                            Action action) {
  for (const Policy* p : policies) {
    if (p == nullptr) continue;
    if (p->name == kRootPolicy) return true;
    for (const Rule& rule : p->rules) {
      if (rule.effect == Rule::Effect::kAllow && rule.Has(action)) return true;
    }
  }
  return false;
}

}  // namespace mv
