// Fuzzes policy documents (access/policy.h): every rejection is
// INVALID_ARGUMENT with a printable message; an accepted policy's canonical
// JSON re-parses to an equal policy and prints identically; and evaluating
// it through its index agrees with the rule-by-rule path on requests made
// from its own globs (so that some of them match).
#include <string>
#include <string_view>
#include <vector>

#include "access/glob.h"
#include "access/policy.h"
#include "fuzz_check.h"

namespace {

// A name a glob should match: wildcards replaced by short runs.
std::string NameFor(std::string_view glob, char fill) {
  std::string name;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] != '*') {
      name += glob[i];
    } else if (i + 1 < glob.size() && glob[i + 1] == '*') {
      name += std::string(1, fill) + "/" + fill;
      ++i;
    } else {
      name += fill;
    }
  }
  return name;
}

bool SameDecision(const mv::Decision& a, const mv::Decision& b) {
  if (a.allowed != b.allowed || a.reason != b.reason ||
      a.allowed_by.size() != b.allowed_by.size())
    return false;
  for (size_t i = 0; i < a.allowed_by.size(); ++i) {
    if (a.allowed_by[i].index != b.allowed_by[i].index) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = mv::fuzz::AsView(data, size);
  absl::StatusOr<mv::Policy> policy = mv::ParsePolicy("fuzz", in);
  if (!policy.ok()) {
    MV_FUZZ_CHECK(policy.status().code() == absl::StatusCode::kInvalidArgument);
    MV_FUZZ_CHECK(mv::fuzz::IsPrintableAscii(policy.status().message()));
    return 0;
  }
  MV_FUZZ_CHECK(!policy->rules.empty() && policy->index != nullptr);

  std::string json = mv::PolicyToJson(*policy);
  absl::StatusOr<mv::Policy> again = mv::ParsePolicy("fuzz", json);
  MV_FUZZ_CHECK(again.ok());
  MV_FUZZ_CHECK(*again == *policy);
  MV_FUZZ_CHECK(mv::PolicyToJson(*again) == json);

  mv::Policy bare{policy->name, policy->rules, nullptr};
  std::vector<std::string> names = {"", "a", "acme/x"};
  for (const mv::Rule& rule : policy->rules) {
    for (const std::string& glob : rule.artifacts) {
      if (names.size() > 64) break;
      names.push_back(NameFor(glob, 'x'));
      names.push_back(NameFor(glob, '/'));
      // The fast matcher agrees with the plain state-set simulation.
      MV_FUZZ_CHECK(
          mv::access_internal::CompiledGlob(glob).Match(names.back()) ==
          mv::access_internal::MatchNfa(glob, names.back()));
    }
  }
  for (const std::string& name : names) {
    for (int a = 0; a < mv::kActionCount; ++a) {
      mv::AccessRequest r;
      r.action = static_cast<mv::Action>(a);
      r.artifact = mv::IsAdminAction(r.action) ? "" : name;
      r.peer_address = name.size() % 2 ? "10.1.2.3" : "::1";
      r.now = absl::FromUnixSeconds(1'800'000'000);
      r.fingerprinted = name.size() % 3 == 0;
      MV_FUZZ_CHECK(
          SameDecision(mv::Evaluate({&*policy}, r), mv::Evaluate({&bare}, r)));
    }
  }
  return 0;
}
