// Escalation prevention (DESIGN §5, issue [security] item 1): may a caller
// grant a policy? Kubernetes RBAC's rule: only what the caller's own current
// rights cover. Pure, like the rest of access/.
//
// A caller's rights cover a granted allow rule when, for every action of
// the rule and (for artifact actions) every one of its globs, some allow
// rule of the caller
//   - names that action,
//   - has a glob whose names include every name the granted glob matches
//     (GlobIncludes: sound, may say no when unsure), unless the action is
//     an admin action (those name no artifact),
//   - has no conditions, or exactly the granted rule's conditions;
// and no deny rule of the caller that names the action has a glob that can
// match a name the granted glob matches (GlobsIntersect; a deny rule's
// conditions are ignored: it might hold). Granting a deny rule is always
// allowed. A caller holding the built-in root policy covers everything; the
// root policy itself is covered only by a root caller. One check does at
// most a fixed amount of glob work (a hostile administrator's giant
// document must not pin a core); beyond it the grant is refused ("too large
// to check against your own rights; ask a root caller").
//
// Thread safety: pure functions over immutable policies.
#ifndef MODELVAULT_ACCESS_COVERAGE_H_
#define MODELVAULT_ACCESS_COVERAGE_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "access/policy.h"

namespace mv {

// True iff every name `inner` matches is also matched by `outer`. Sound:
// true is always right; false may be wrong for exotic pairs (then a grant
// is refused, never widened). Both must be valid globs.
bool GlobIncludes(std::string_view outer, std::string_view inner);

// True iff some string is matched by both globs. Exact.
bool GlobsIntersect(std::string_view a, std::string_view b);

// True iff `policies` holds the built-in root policy.
bool HoldsRoot(const std::vector<const Policy*>& policies);

// OK if `caller` covers every allow rule of `granted` (a root caller covers
// everything; only a root caller covers the root policy, which is
// recognised by name). Otherwise PERMISSION_DENIED naming the first
// uncovered rule: "permission denied: cannot grant policy P rule 2 (read on
// acme/**): your own rights do not cover it".
absl::Status CheckCovers(const std::vector<const Policy*>& caller,
                         const Policy& granted);

// As CheckCovers for one rule of `policy_name`, treating the rule as an
// allow rule whatever its effect: lifting a deny rule (removing it from a
// policy, or detaching a policy that holds it) grants what it denied.
absl::Status CheckCoversRule(const std::vector<const Policy*>& caller,
                             std::string_view policy_name, size_t index,
                             const Rule& rule);

// What lifting the deny rules of `before` costs when `after` replaces it
// (nullptr: it is removed, e.g. detached): OK if every action and glob a
// deny rule of `before` denied is still denied by a deny rule of `after`
// (a glob including it, conditions absent or the same) or is covered by
// `caller` as if granted. Otherwise PERMISSION_DENIED as CheckCoversRule.
absl::Status CheckMayLiftDenies(const std::vector<const Policy*>& caller,
                                const Policy& before, const Policy* after);

}  // namespace mv

#endif  // MODELVAULT_ACCESS_COVERAGE_H_
