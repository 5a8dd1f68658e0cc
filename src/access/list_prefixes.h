// Where a caller's names can be: the literal prefixes of the globs its
// policies allow `list` on, so that `ls` scans only those ranges of the
// catalog instead of every version (a caller who may list little would
// otherwise make each page a scan of the whole catalog).
//
// A glob's literal prefix is everything before its first '*' (our glob
// syntax has no other wildcard): every name it matches starts with it. The
// result is a superset of where listable names are; deny rules and
// conditions are left to the per-name check. Pure; thread-safe.
#ifndef MODELVAULT_ACCESS_LIST_PREFIXES_H_
#define MODELVAULT_ACCESS_LIST_PREFIXES_H_

#include <string>
#include <string_view>
#include <vector>

#include "access/policy.h"

namespace mv {

// Sorted prefixes, none a prefix of another (so their key ranges are
// disjoint and in key order), each starting with `within` or equal to it;
// empty if no allow rule lists anything under `within`. The root policy
// reaches everything: {within}.
std::vector<std::string> ListPrefixes(
    const std::vector<const Policy*>& policies, std::string_view within);

}  // namespace mv

#endif  // MODELVAULT_ACCESS_LIST_PREFIXES_H_
