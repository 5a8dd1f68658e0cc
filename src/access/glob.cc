#include "access/glob.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "access/policy.h"

namespace mv::access_internal {
namespace {

// Length of the wildcard token at pattern[i] (1 for `*`, 2 for `**`), or 0
// for a literal byte. `***` reads as `**` then `*`.
size_t StarLength(std::string_view p, size_t i) {
  if (p[i] != '*') return 0;
  return i + 1 < p.size() && p[i + 1] == '*' ? 2 : 1;
}

// Adds to `states` every state reachable by letting wildcards match the
// empty run. One forward pass suffices: the target is always further right.
// Globs up to kMaxGlobBytes keep their state sets on the stack.
using States = absl::InlinedVector<char, kMaxGlobBytes + 8>;

void Close(std::string_view p, States& states) {
  for (size_t i = 0; i < p.size();) {
    size_t star = StarLength(p, i);
    if (star > 0 && states[i]) states[i + star] = 1;
    i += star > 0 ? star : 1;
  }
}

}  // namespace

bool MatchNfa(std::string_view p, std::string_view name) {
  // states[i]: the first i pattern bytes (a token boundary) match the name
  // read so far.
  States states(p.size() + 1, 0), next(p.size() + 1, 0);
  states[0] = 1;
  Close(p, states);
  for (char c : name) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t i = 0; i < p.size();) {
      size_t star = StarLength(p, i);
      if (states[i]) {
        if (star == 2 || (star == 1 && c != '/')) {
          next[i] = 1;
          any = true;
        } else if (star == 0 && p[i] == c) {
          next[i + 1] = 1;
          any = true;
        }
      }
      i += star > 0 ? star : 1;
    }
    if (!any) return false;
    Close(p, next);
    states.swap(next);
  }
  return states[p.size()] != 0;
}

namespace {

// Plain backtracking, fast on the globs people write; gives up (returns
// false with *budget < 0) after *budget steps so that patterns like
// "*a*a*a*a*b" cannot take exponential time.
bool Backtrack(std::string_view p, std::string_view n, int* budget) {
  while (true) {
    if (--*budget < 0) return false;
    if (p.empty()) return n.empty();
    if (p[0] == '*') {
      size_t star = StarLength(p, 0);
      std::string_view rest = p.substr(star);
      for (size_t k = 0; k <= n.size(); ++k) {
        // Only starts where the next literal byte can match are worth trying.
        if ((rest.empty() || rest[0] == '*' ||
             (k < n.size() && n[k] == rest[0])) &&
            Backtrack(rest, n.substr(k), budget)) {
          return true;
        }
        if (*budget < 0 || (k < n.size() && star == 1 && n[k] == '/'))
          return false;
      }
      return false;
    }
    if (n.empty() || n[0] != p[0]) return false;
    p.remove_prefix(1);
    n.remove_prefix(1);
  }
}

}  // namespace

bool MatchGeneral(std::string_view pattern, std::string_view name) {
  int budget = 64 + 4 * static_cast<int>(pattern.size() + name.size());
  bool matched = Backtrack(pattern, name, &budget);
  return budget >= 0 ? matched : MatchNfa(pattern, name);
}

absl::Status ValidateGlob(std::string_view glob) {
  if (glob.empty()) return absl::InvalidArgumentError("empty glob");
  if (glob.size() > kMaxGlobBytes) {
    return absl::InvalidArgumentError("glob longer than 256 bytes");
  }
  for (char c : glob) {
    if (c <= 0x20 || c >= 0x7f) {
      return absl::InvalidArgumentError(
          "glob holds a space, control or non-ASCII byte");
    }
  }
  if (glob.find("***") != std::string_view::npos) {
    return absl::InvalidArgumentError("glob holds `***`");
  }
  return absl::OkStatus();
}

GlobParts GlobParts::Split(std::string_view glob) {
  GlobParts parts;
  size_t first = glob.find('*');
  if (first == std::string_view::npos) {
    parts.prefix_len = static_cast<uint16_t>(glob.size());
    return parts;
  }
  size_t last = glob.rfind('*');
  parts.prefix_len = static_cast<uint16_t>(first);
  parts.middle_len = static_cast<uint16_t>(last + 1 - first);
  parts.suffix_len = static_cast<uint16_t>(glob.size() - last - 1);
  std::string_view middle = glob.substr(first, parts.middle_len);
  parts.kind = middle == "*"    ? Kind::kStar
               : middle == "**" ? Kind::kDoubleStar
                                : Kind::kGeneral;
  return parts;
}

std::string_view GlobParts::LiteralFirstSegment(std::string_view glob) const {
  std::string_view prefix = glob.substr(0, prefix_len);
  size_t slash = prefix.find('/');
  if (slash != std::string_view::npos) return prefix.substr(0, slash);
  return kind == Kind::kLiteral ? prefix : std::string_view();
}

namespace {

// A cheap necessary condition for a wildcard pattern: its literal runs
// occur in `name` in order, without overlapping.
bool RunsInOrder(std::string_view pattern, std::string_view name) {
  size_t at = 0;
  while (!pattern.empty()) {
    size_t star = pattern.find('*');
    std::string_view run = pattern.substr(0, star);
    if (!run.empty()) {
      at = name.find(run, at);
      if (at == std::string_view::npos) return false;
      at += run.size();
    }
    if (star == std::string_view::npos) break;
    pattern.remove_prefix(star + 1);
  }
  return true;
}

}  // namespace

bool GlobParts::MatchMiddle(std::string_view glob,
                            std::string_view rest) const {
  std::string_view middle = glob.substr(prefix_len, middle_len);
  return RunsInOrder(middle, rest) && MatchGeneral(middle, rest);
}

}  // namespace mv::access_internal

namespace mv {

bool GlobMatch(std::string_view pattern, std::string_view name) {
  return access_internal::MatchGeneral(pattern, name);
}

namespace {

bool CanMatchSomeName(std::string_view glob) {
  for (char c : glob) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string_view("._-/*").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  for (std::string_view rest = glob;;) {
    const size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return false;
    if (std::string_view("._-").find(segment[0]) != std::string_view::npos)
      return false;
    if (slash == std::string_view::npos) return true;
    rest.remove_prefix(slash + 1);
  }
}

}  // namespace

absl::Status CheckGlobsCanMatchNames(const Policy& policy) {
  for (size_t r = 0; r < policy.rules.size(); ++r) {
    const std::vector<std::string>& globs = policy.rules[r].artifacts;
    for (size_t g = 0; g < globs.size(); ++g) {
      if (CanMatchSomeName(globs[g])) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "rules[", r, "].artifacts[", g, "]: glob ", globs[g],
          " can never match an artifact name (names are segments of a-z 0-9 "
          ". _ - starting with a letter or digit, joined by /)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace mv
