// Grant coverage (access/coverage.h): glob inclusion and intersection over
// the `*`/`**` syntax of access/policy.h, and the rule-by-rule check.
#include "access/coverage.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"

namespace mv {
namespace {

// A glob as tokens: a literal byte, `*` (a run without '/') or `**` (any
// run). `***` never reaches here (ValidateGlob refuses it).
enum class Token : uint8_t { kLiteral, kStar, kDoubleStar };
struct Piece {
  Token token;
  char c = 0;  // kLiteral only
};

std::vector<Piece> Tokenize(std::string_view glob) {
  std::vector<Piece> out;
  for (size_t i = 0; i < glob.size(); ++i) {
    if (glob[i] != '*') {
      out.push_back({Token::kLiteral, glob[i]});
    } else if (i + 1 < glob.size() && glob[i + 1] == '*') {
      out.push_back({Token::kDoubleStar});
      ++i;
    } else {
      out.push_back({Token::kStar});
    }
  }
  return out;
}

// Can a piece of one glob absorb, on its own, everything `inner` stands for
// (assuming `outer` is a wildcard)?
bool Absorbs(const Piece& outer, const Piece& inner) {
  if (outer.token == Token::kDoubleStar) return true;
  if (inner.token == Token::kLiteral) return inner.c != '/';
  return inner.token == Token::kStar;
}

// Does `piece` accept the byte `c` (and where does it go: stay for
// wildcards, advance for a literal)?
bool Accepts(const Piece& piece, char c) {
  switch (piece.token) {
    case Token::kLiteral:
      return piece.c == c;
    case Token::kStar:
      return c != '/';
    case Token::kDoubleStar:
      return true;
  }
  return false;
}

// A grid of visited (i, j) states over two token lists.
class Grid {
 public:
  Grid(size_t rows, size_t cols)
      : cols_(cols + 1), seen_((rows + 1) * (cols + 1), false) {}
  // True the first time (i, j) is marked.
  bool Mark(size_t i, size_t j) {
    std::vector<bool>::reference bit = seen_[i * cols_ + j];
    if (bit) return false;
    bit = true;
    return true;
  }

 private:
  size_t cols_;
  std::vector<bool> seen_;
};

// The work one grant check may do, in glob-pair grid cells: enough for
// documents people write (a thousand rules checked against a thousand in
// well under a second), and a bound on what a hostile administrator can
// make the server spend. Beyond it the grant is refused (conservative).
constexpr uint64_t kWorkBudget = 200'000'000;

struct Work {
  uint64_t left = kWorkBudget;
  // False once the budget is spent; each glob pair costs its grid.
  bool Spend(std::string_view a, std::string_view b) {
    const uint64_t cost = (a.size() + 1) * (b.size() + 1);
    if (cost > left) return left = 0, false;
    left -= cost;
    return true;
  }
};

absl::Status TooLarge() {
  return absl::PermissionDeniedError(
      "permission denied: the grant is too large to check against your own "
      "rights; ask a root caller");
}

std::string Describe(Action action, std::string_view glob) {
  std::string out(ActionName(action));
  if (!IsAdminAction(action)) absl::StrAppend(&out, " on ", std::string(glob));
  return out;
}

bool ConditionsCover(const Conditions& mine, const Conditions& granted) {
  return mine == Conditions{} || mine == granted;
}

// Some rule of `effect` in `policies` names `action` for every name of
// `glob` ("" for admin actions), with no conditions or exactly
// `conditions`: an allow rule of the caller that covers a grant, or a deny
// rule of a replacement policy that still denies what the old one did.
bool SomeRuleCovers(const std::vector<const Policy*>& policies,
                    Rule::Effect effect, Action action, std::string_view glob,
                    const Conditions& conditions, Work& work) {
  for (const Policy* p : policies) {
    if (p == nullptr) continue;
    for (const Rule& r : p->rules) {
      if (r.effect != effect || !r.Has(action) ||
          !ConditionsCover(r.conditions, conditions)) {
        continue;
      }
      if (IsAdminAction(action)) return true;
      for (const std::string& mine : r.artifacts) {
        if (!work.Spend(mine, glob)) return false;
        if (GlobIncludes(mine, glob)) return true;
      }
    }
  }
  return false;
}

// Some deny rule of `caller` might deny `action` on a name of `glob`.
bool DenyTouches(const std::vector<const Policy*>& caller, Action action,
                 std::string_view glob, Work& work) {
  for (const Policy* p : caller) {
    if (p == nullptr) continue;
    for (const Rule& r : p->rules) {
      if (r.effect != Rule::Effect::kDeny || !r.Has(action)) continue;
      if (IsAdminAction(action)) return true;
      for (const std::string& denied : r.artifacts) {
        if (!work.Spend(denied, glob)) return true;  // unsure: it might
        if (GlobsIntersect(denied, glob)) return true;
      }
    }
  }
  return false;
}

}  // namespace

bool GlobIncludes(std::string_view outer_text, std::string_view inner_text) {
  // A walk over (i, j): the first i inner pieces are covered by the first j
  // outer pieces, each inner piece absorbed whole by one outer piece. Sound
  // (each accepted walk is a way to match any expansion of inner), not
  // complete (an inner wildcard split across outer pieces is not tried).
  const std::vector<Piece> inner = Tokenize(inner_text);
  const std::vector<Piece> outer = Tokenize(outer_text);
  Grid grid(inner.size(), outer.size());
  std::vector<std::pair<size_t, size_t>> todo{{0, 0}};
  grid.Mark(0, 0);
  auto push = [&](size_t i, size_t j) {
    if (grid.Mark(i, j)) todo.emplace_back(i, j);
  };
  while (!todo.empty()) {
    auto [i, j] = todo.back();
    todo.pop_back();
    if (i == inner.size() && j == outer.size()) return true;
    if (j == outer.size()) continue;
    const Piece& o = outer[j];
    if (o.token == Token::kLiteral) {
      if (i < inner.size() && inner[i].token == Token::kLiteral &&
          inner[i].c == o.c) {
        push(i + 1, j + 1);
      }
      continue;
    }
    push(i, j + 1);  // the outer wildcard matches the empty run
    if (i < inner.size() && Absorbs(o, inner[i])) push(i + 1, j);
  }
  return false;
}

bool GlobsIntersect(std::string_view a_text, std::string_view b_text) {
  // Emptiness of the product automaton, over the bytes either glob names
  // plus '/' and one byte neither names (it stands for all the others).
  const std::vector<Piece> a = Tokenize(a_text), b = Tokenize(b_text);
  std::string alphabet = "/";
  for (const auto* glob : {&a_text, &b_text}) {
    for (char c : *glob)
      if (c != '*' && alphabet.find(c) == std::string::npos) alphabet += c;
  }
  for (char c : std::string_view("abcdefghijklmnopqrstuvwxyz0123456789._-~")) {
    if (alphabet.find(c) == std::string::npos) {
      alphabet += c;
      break;
    }
  }
  // Wildcards may match the empty run: skipping one is a move like any.
  Grid grid(a.size(), b.size());
  std::vector<std::pair<size_t, size_t>> queue{{0, 0}};
  grid.Mark(0, 0);
  auto enqueue = [&](size_t i, size_t j) {
    if (grid.Mark(i, j)) queue.emplace_back(i, j);
  };
  while (!queue.empty()) {
    auto [i, j] = queue.back();
    queue.pop_back();
    if (i == a.size() && j == b.size()) return true;
    if (i < a.size() && a[i].token != Token::kLiteral) enqueue(i + 1, j);
    if (j < b.size() && b[j].token != Token::kLiteral) enqueue(i, j + 1);
    if (i == a.size() || j == b.size()) continue;
    for (char c : alphabet) {
      if (!Accepts(a[i], c) || !Accepts(b[j], c)) continue;
      enqueue(a[i].token == Token::kLiteral ? i + 1 : i,
              b[j].token == Token::kLiteral ? j + 1 : j);
    }
  }
  return false;
}

bool HoldsRoot(const std::vector<const Policy*>& policies) {
  return std::any_of(policies.begin(), policies.end(), [](const Policy* p) {
    return p != nullptr && p->name == kRootPolicy;
  });
}

namespace {

absl::Status CoversRule(const std::vector<const Policy*>& caller,
                        std::string_view policy_name, size_t index,
                        const Rule& rule, Work& work) {
  for (int bit = 0; bit < kActionCount; ++bit) {
    const Action action = static_cast<Action>(bit);
    if (!rule.Has(action)) continue;
    std::vector<std::string_view> globs(rule.artifacts.begin(),
                                        rule.artifacts.end());
    if (IsAdminAction(action)) globs = {""};
    for (std::string_view glob : globs) {
      if (SomeRuleCovers(caller, Rule::Effect::kAllow, action, glob,
                         rule.conditions, work) &&
          !DenyTouches(caller, action, glob, work)) {
        continue;
      }
      if (work.left == 0) return TooLarge();
      return absl::PermissionDeniedError(absl::StrCat(
          "permission denied: cannot grant policy ", std::string(policy_name),
          " rule ", index, " (", Describe(action, glob),
          "): your own rights do not cover it"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckCoversRule(const std::vector<const Policy*>& caller,
                             std::string_view policy_name, size_t index,
                             const Rule& rule) {
  if (HoldsRoot(caller)) return absl::OkStatus();
  Work work;
  return CoversRule(caller, policy_name, index, rule, work);
}

absl::Status CheckMayLiftDenies(const std::vector<const Policy*>& caller,
                                const Policy& before, const Policy* after) {
  if (HoldsRoot(caller)) return absl::OkStatus();
  Work work;
  for (size_t i = 0; i < before.rules.size(); ++i) {
    const Rule& rule = before.rules[i];
    if (rule.effect != Rule::Effect::kDeny) continue;
    for (int bit = 0; bit < kActionCount; ++bit) {
      const Action action = static_cast<Action>(bit);
      if (!rule.Has(action)) continue;
      std::vector<std::string> globs = rule.artifacts;
      if (IsAdminAction(action)) globs = {""};
      for (const std::string& glob : globs) {
        if (after != nullptr &&
            SomeRuleCovers({after}, Rule::Effect::kDeny, action, glob,
                           rule.conditions, work)) {
          continue;
        }
        Rule lifted;  // what stops being denied
        lifted.actions = 1u << bit;
        if (!IsAdminAction(action)) lifted.artifacts = {glob};
        lifted.conditions = rule.conditions;
        if (absl::Status s = CoversRule(caller, before.name, i, lifted, work);
            !s.ok())
          return s;
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckCovers(const std::vector<const Policy*>& caller,
                         const Policy& granted) {
  if (HoldsRoot(caller)) return absl::OkStatus();
  if (granted.name == kRootPolicy) {
    return absl::PermissionDeniedError(
        "permission denied: only a root caller may grant the root policy");
  }
  Work work;
  for (size_t i = 0; i < granted.rules.size(); ++i) {
    const Rule& rule = granted.rules[i];
    if (rule.effect == Rule::Effect::kDeny) continue;  // narrowing is free
    if (absl::Status s = CoversRule(caller, granted.name, i, rule, work);
        !s.ok())
      return s;
  }
  return absl::OkStatus();
}

}  // namespace mv
