// The reference glob matcher of the access tests: naive and recursive, so
// obviously right (semantics in access/policy.h), for checking the real
// matchers and the coverage checks against brute force.
#ifndef MODELVAULT_TESTS_SRC_ACCESS_REF_GLOB_H_
#define MODELVAULT_TESTS_SRC_ACCESS_REF_GLOB_H_

#include <string_view>

namespace mv {

inline bool RefGlob(std::string_view p, std::string_view n) {
  if (p.empty()) return n.empty();
  if (p.starts_with("**")) {
    for (size_t k = 0; k <= n.size(); ++k)
      if (RefGlob(p.substr(2), n.substr(k))) return true;
    return false;
  }
  if (p[0] == '*') {
    for (size_t k = 0; k <= n.size() && (k == 0 || n[k - 1] != '/'); ++k)
      if (RefGlob(p.substr(1), n.substr(k))) return true;
    return false;
  }
  return !n.empty() && n[0] == p[0] && RefGlob(p.substr(1), n.substr(1));
}

}  // namespace mv

#endif  // MODELVAULT_TESTS_SRC_ACCESS_REF_GLOB_H_
