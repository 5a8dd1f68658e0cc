#include "access/list_prefixes.h"

#include <algorithm>

namespace mv {

std::vector<std::string> ListPrefixes(
    const std::vector<const Policy*>& policies, std::string_view within) {
  std::vector<std::string> found;
  for (const Policy* policy : policies) {
    // The built-in root policy allows everything without stored rules.
    if (policy->name == kRootPolicy) return {std::string(within)};
    for (const Rule& rule : policy->rules) {
      if (rule.effect != Rule::Effect::kAllow || !rule.Has(Action::kList))
        continue;
      for (const std::string& glob : rule.artifacts) {
        const std::string_view literal =
            std::string_view(glob).substr(0, glob.find('*'));
        if (literal.starts_with(within)) {
          found.emplace_back(literal);
        } else if (within.starts_with(literal)) {
          found.emplace_back(within);
        }
      }
    }
  }
  std::sort(found.begin(), found.end());
  // Sorted, a prefix comes right before the strings it is a prefix of.
  std::vector<std::string> out;
  for (std::string& p : found) {
    if (out.empty() || !std::string_view(p).starts_with(out.back()))
      out.push_back(std::move(p));
  }
  return out;
}

}  // namespace mv
