// Access policies: the document model, its JSON form and its evaluation.
// Pure (no storage, no gRPC): the vault stores documents and counts budgets;
// this file decides. DESIGN §5, issue [access].
//
// Semantics: deny by default; a request is allowed iff some allow rule
// matches and no deny rule matches. A rule matches a request when it names
// the action, one of its artifact globs matches the artifact (not consulted
// for admin:* actions, whose request artifact is ""), and all its
// conditions hold:
//   source_cidrs         the peer address is inside one of them (an unknown
//                        or malformed peer address is inside none);
//   not_before/not_after not_before <= now < not_after (inclusive start,
//                        exclusive end);
//   require_fingerprint  request.fingerprinted. Interim behaviour until the
//                        [trace] issue: such a rule matches only downloads
//                        that would carry a fingerprint, so it never
//                        matches list, write or admin requests.
// Conditions gate deny rules too (a deny rule whose conditions do not hold
// does not deny). Budgets are not conditions: an allow rule with a budget
// matches, and the caller charges the budget of the rules it allows by
// (see Decision::allowed_by).
//
// The policy named "root" (kRootPolicy) is built in and allows everything,
// full stop: explicit denies in the caller's other policies do not apply to
// a root caller. ParsePolicy refuses the name, so no stored document can
// become root by accident.
//
// Globs: `*` matches any run of characters within one name segment (no '/'),
// `**` any run across segments (including '/' and the empty run);
// everything else is literal (no '?', '[' or escapes). Thus "acme/**"
// matches "acme/x" and "acme/x/y" but not "acme", and "**/x" does not match
// "x". `***` and empty globs are rejected when a document is parsed.
//
// Thread safety: everything here is immutable after construction; Evaluate
// may run concurrently on shared policies.
#ifndef MODELVAULT_ACCESS_POLICY_H_
#define MODELVAULT_ACCESS_POLICY_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mv {

enum class Action : uint8_t {
  kRead,
  kWrite,
  kList,
  kDelete,
  kAlias,
  kTrace,
  // "read:exact": the original bytes of a markable version, unfingerprinted
  // (LEAK_TRACING.md). "read" does not imply it; a pull with exact needs both.
  kReadExact,
  kAdminPrincipals,
  kAdminPolicies,
  kAdminTokens,
  kAdminAudit,
  kAdminKeys,
  kAdminBackup,
  // Removing archived records from the audit log (AuditService.Archive):
  // "admin:audit" may read the log, not shrink it.
  kAdminAuditArchive,
  // Sealing the vault (OperatorService.Seal): every key leaves memory and
  // the server refuses everything until the unseal keys are given again.
  kAdminSeal,
};
inline constexpr int kActionCount = 15;
// "read", ..., "admin:audit:archive", "admin:seal".
std::string_view ActionName(Action a);
std::optional<Action> ParseAction(std::string_view name);
// True for admin:* actions (their requests name no artifact).
inline bool IsAdminAction(Action a) { return a >= Action::kAdminPrincipals; }

// Policy names: [a-z0-9][a-z0-9._-]{0,63}. "root" is a valid name (it can
// be attached to principals) but ParsePolicy refuses to create it.
absl::Status ValidatePolicyName(std::string_view name);

bool GlobMatch(std::string_view pattern, std::string_view name);

// An IPv4 or IPv6 network, "10.0.0.0/8" or "::1/128" (a bare address means
// the host). Host bits beyond the prefix must be zero. IPv4 networks are
// held v4-mapped, so "::/0" also contains every IPv4 address and IPv4
// CIDRs contain v4-mapped peers such as "::ffff:127.0.0.1".
struct Cidr {
  std::array<uint8_t, 16> network{};  // IPv4 as ::ffff:a.b.c.d
  int prefix_bits = 0;                // of the 128-bit form
  static absl::StatusOr<Cidr> Parse(std::string_view text);
  // `address` is a bare IPv4/IPv6 address (no port, no zone); false if
  // malformed.
  bool Contains(std::string_view address) const;
  bool Contains(const std::array<uint8_t, 16>& address) const;
  // Canonical: IPv4 networks in dotted form ("10.0.0.0/8"), others as
  // inet_ntop prints them; always with the prefix length.
  std::string ToString() const;
  bool operator==(const Cidr&) const = default;
};
// A bare IPv4 (returned v4-mapped) or IPv6 address; nullopt if malformed.
std::optional<std::array<uint8_t, 16>> ParseIpAddress(std::string_view address);

struct Conditions {
  std::vector<Cidr> source_cidrs;  // empty = any source
  std::optional<absl::Time> not_before, not_after;
  std::optional<uint64_t> max_downloads_per_day;
  std::optional<uint64_t>
      max_bytes_per_day;  // JSON: integer or "500GiB"/"10MB"...
  bool require_fingerprint = false;
  bool operator==(const Conditions&) const = default;
};

struct Rule {
  enum class Effect : uint8_t { kAllow, kDeny } effect = Effect::kAllow;
  // Globs; admin actions ignore them. May be empty only if every action of
  // the rule is an admin action.
  std::vector<std::string> artifacts;
  uint32_t actions = 0;  // bit (1 << Action)
  Conditions conditions;
  bool Has(Action a) const { return actions & (1u << static_cast<int>(a)); }
  bool operator==(const Rule&) const = default;
};

// Precompiled lookup structure for one policy (access/policy_index.h).
struct PolicyIndex;

struct Policy {
  std::string name;
  std::vector<Rule> rules;
  // Built by ParsePolicy / IndexPolicy from `rules`; Evaluate uses it when
  // present and otherwise matches the rules one by one (same answers,
  // slower). Do not change `rules` after indexing without calling
  // IndexPolicy again. Not part of equality.
  std::shared_ptr<const PolicyIndex> index;
  friend bool operator==(const Policy& a, const Policy& b) {
    return a.name == b.name && a.rules == b.rules;
  }
};

// (Re)builds policy->index from policy->rules, for policies built by hand
// or changed after parsing. A policy with a glob longer than kMaxGlobBytes
// is left unindexed (ParsePolicy never makes one).
void IndexPolicy(Policy* policy);

// INVALID_ARGUMENT naming the JSON path ("rules[0].artifacts[1]: glob
// ACME/** can never match an artifact name ...") for the first glob of
// `policy` that no artifact name (DESIGN §2: lowercase segments joined by
// '/') can match: a byte outside [a-z0-9._-/*], an empty segment, or a
// segment starting with a literal '.', '_' or '-'. Checked when a document
// is put, not when a stored one is loaded (a vault must still open).
absl::Status CheckGlobsCanMatchNames(const Policy& policy);

// Limits that bound the work of parsing and evaluating one document.
inline constexpr size_t kMaxPolicyDocumentBytes = 1 << 20;
inline constexpr size_t kMaxRulesPerPolicy = 1000;
inline constexpr size_t kMaxListEntries = 256;  // artifacts, source_cidrs
inline constexpr size_t kMaxGlobBytes = 256;

// Parses a policy document {"rules": [...]} strictly: unknown or duplicate
// fields, wrong types, unknown actions, empty rules/actions lists, bad globs,
// malformed CIDRs/times/sizes, negative numbers and not_before >= not_after
// are INVALID_ARGUMENT naming the JSON path
// ("rules[0].conditions.source_cidrs[1]: not a CIDR: 10.0.0.0/33").
// Sizes (max_bytes_per_day) are a non-negative integer or a string of digits
// with an optional unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
// TiB (powers of 1024). Times are RFC 3339 ("2026-01-01T00:00:00Z").
// Also INVALID_ARGUMENT: a bad policy name, the reserved name "root", a
// document over kMaxPolicyDocumentBytes or with more than kMaxRulesPerPolicy
// rules or kMaxListEntries entries in a list. The result is indexed.
absl::StatusOr<Policy> ParsePolicy(std::string_view name,
                                   std::string_view json);
// Canonical JSON: keys sorted, actions in enum order, sizes as integers,
// times in UTC with "Z", absent/default conditions omitted. ParsePolicy of
// it gives back an equal policy.
std::string PolicyToJson(const Policy& policy);

// A request as the policy engine sees it.
struct AccessRequest {
  Action action = Action::kRead;
  std::string artifact;  // artifact name (no @version); "" for admin actions
  std::string
      peer_address;  // bare IP, "" if unknown (then CIDR conditions fail)
  absl::Time now =
      absl::InfinitePast();    // InfinitePast = "use the vault clock"
  bool fingerprinted = false;  // the delivery would carry a fingerprint
};

// Names one rule for budgets and denial reasons. `rule` points into the
// evaluated Policy (which must outlive it), or at a static allow-everything
// rule without conditions for the root policy.
struct RuleRef {
  std::string policy;
  uint32_t index = 0;
  const Rule* rule = nullptr;
};

struct Decision {
  bool allowed = false;
  // Every matching allow rule, in policy then rule order, each once (empty
  // if denied). A root caller gets exactly {"root", 0, <root rule>}.
  std::vector<RuleRef> allowed_by;
  // Why not: "denied by policy P rule 2" (the first deny rule in policy
  // then rule order) / "no policy allows read on acme/x" /
  // "no policy allows admin:keys". Empty when allowed.
  std::string reason;
};

// Evaluates `policies` (the caller's effective policies) against `request`.
// Special case: a policy named "root" is the built-in root policy and allows
// everything (it has no rules stored). Null pointers are skipped.
Decision Evaluate(const std::vector<const Policy*>& policies,
                  const AccessRequest& request);

// True iff some artifact exists on which `policies` might allow `action`:
// the root policy, or an allow rule naming the action (conditions and deny
// rules are not weighed). A cheap pre-check before work whose artifact is
// only known later (a trace found by search); Evaluate still decides.
bool MayAllowOnSomeArtifact(const std::vector<const Policy*>& policies,
                            Action action);

inline constexpr std::string_view kRootPolicy = "root";

}  // namespace mv

#endif  // MODELVAULT_ACCESS_POLICY_H_
