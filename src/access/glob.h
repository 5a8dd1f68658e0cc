// Artifact name globs (semantics in access/policy.h), validated and
// precompiled once per policy so that evaluation rejects most globs with a
// prefix, suffix or substring comparison. Internal to modelvault_access.
//
// Thread safety: everything is immutable or a pure function.
#ifndef MODELVAULT_ACCESS_GLOB_H_
#define MODELVAULT_ACCESS_GLOB_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mv::access_internal {

// OK, or INVALID_ARGUMENT without a path prefix ("empty glob", ...): empty,
// longer than kMaxGlobBytes, containing `***`, a space, a control or a
// non-ASCII byte.
absl::Status ValidateGlob(std::string_view glob);

// A glob split at its first and last '*': literal prefix, the wildcard
// middle (starts and ends with '*', empty if there is none) and literal
// suffix. The views point into the glob text.
struct GlobParts {
  enum class Kind : uint8_t {
    kLiteral,     // no '*': the name must equal prefix
    kStar,        // middle is "*"
    kDoubleStar,  // middle is "**"
    kGeneral,     // anything else
  };
  Kind kind = Kind::kLiteral;
  uint16_t prefix_len = 0, middle_len = 0, suffix_len = 0;

  // REQUIRES: glob.size() <= 65535.
  static GlobParts Split(std::string_view glob);
  // `glob` is the text Split was given. Inline: evaluation calls this for
  // every candidate glob of every policy, and most fail on a few bytes.
  bool Match(std::string_view glob, std::string_view name) const {
    if (kind == Kind::kLiteral) {
      return name.size() == prefix_len &&
             SameBytes(name.data(), glob.data(), prefix_len);
    }
    size_t fixed = size_t{prefix_len} + suffix_len;
    if (name.size() < fixed ||
        !SameBytes(name.data(), glob.data(), prefix_len) ||
        !SameBytes(name.data() + name.size() - suffix_len,
                   glob.data() + glob.size() - suffix_len, suffix_len)) {
      return false;
    }
    std::string_view rest(name.data() + prefix_len, name.size() - fixed);
    switch (kind) {
      case Kind::kStar:
        for (char c : rest) {
          if (c == '/') return false;
        }
        return true;
      case Kind::kDoubleStar:
        return true;
      default:
        return MatchMiddle(glob, rest);
    }
  }
  // The glob's first segment (text before the first '/', or all of it) if
  // it holds no '*': then only names whose first segment equals it can
  // match. Empty otherwise.
  std::string_view LiteralFirstSegment(std::string_view glob) const;

 private:
  // Literal parts are short: word compares beat a call to memcmp (which
  // dominated evaluation profiles) and a byte loop's mispredicted exits.
  static bool SameBytes(const char* a, const char* b, size_t n) {
    for (; n >= 8; a += 8, b += 8, n -= 8) {
      if (Load<uint64_t>(a) != Load<uint64_t>(b)) return false;
    }
    if (n >= 4) {  // two overlapping 4-byte words cover 4..7 bytes
      return Load<uint32_t>(a) == Load<uint32_t>(b) &&
             Load<uint32_t>(a + n - 4) == Load<uint32_t>(b + n - 4);
    }
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  template <typename T>
  static T Load(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  // kGeneral: `rest` is the name without the prefix and suffix.
  bool MatchMiddle(std::string_view glob, std::string_view rest) const;
};

// A glob with its parts, owning its text.
class CompiledGlob {
 public:
  explicit CompiledGlob(std::string_view glob)
      : text_(glob), parts_(GlobParts::Split(glob)) {}
  bool Match(std::string_view name) const { return parts_.Match(text_, name); }
  std::string_view LiteralFirstSegment() const {
    return parts_.LiteralFirstSegment(text_);
  }

 private:
  std::string text_;
  GlobParts parts_;
};

// The general matcher, for any pattern (even an invalid one): bounded
// backtracking, falling back to MatchNfa when that takes too many steps.
bool MatchGeneral(std::string_view pattern, std::string_view name);
// A set-of-states simulation over the pattern: O(|pattern| * |name|), no
// backtracking.
bool MatchNfa(std::string_view pattern, std::string_view name);

}  // namespace mv::access_internal

#endif  // MODELVAULT_ACCESS_GLOB_H_
