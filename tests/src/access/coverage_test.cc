// Grant coverage (access/coverage.h): glob inclusion is sound and
// intersection exact against brute force on small alphabets; CheckCovers
// refuses every way a grant could exceed the caller's rights.
#include "access/coverage.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <functional>
#include <string>
#include <vector>

#include "src/access/ref_glob.h"
#include "testing/property.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using mvtesting::IsOk;
using mvtesting::StatusIs;
using ::testing::HasSubstr;

Policy Parsed(const std::string& name, const std::string& json) {
  absl::StatusOr<Policy> p = ParsePolicy(name, json);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? *p : Policy{};
}

Policy Root() {
  Policy root;
  root.name = kRootPolicy;
  return root;
}

TEST(GlobIncludesTest, LiteralsStarsAndDoubleStars) {
  EXPECT_TRUE(GlobIncludes("acme/**", "acme/x"));
  EXPECT_TRUE(GlobIncludes("acme/**", "acme/*"));
  EXPECT_TRUE(GlobIncludes("acme/**", "acme/**"));
  EXPECT_TRUE(GlobIncludes("acme/**", "acme/team/*/x"));
  EXPECT_TRUE(GlobIncludes("**", "anything/**"));
  EXPECT_TRUE(GlobIncludes("acme/*", "acme/llama-*"));
  EXPECT_TRUE(GlobIncludes("acme/*-3", "acme/llama-3"));
  EXPECT_TRUE(GlobIncludes("*/x", "acme/x"));

  EXPECT_FALSE(GlobIncludes("acme/*", "acme/**"));  // ** crosses '/'
  EXPECT_FALSE(GlobIncludes("acme/*", "acme/x/y"));
  EXPECT_FALSE(GlobIncludes("acme/x", "acme/*"));
  EXPECT_FALSE(GlobIncludes("acme/**", "**"));
  EXPECT_FALSE(GlobIncludes("acme/**", "acme"));
  EXPECT_FALSE(GlobIncludes("acme/**", "acmeco/x"));
  EXPECT_FALSE(GlobIncludes("*", "a/b"));
}

TEST(GlobsIntersectTest, FindsACommonNameOrNone) {
  EXPECT_TRUE(GlobsIntersect("acme/**", "**"));
  EXPECT_TRUE(GlobsIntersect("acme/*", "*/x"));
  EXPECT_TRUE(GlobsIntersect("acme/secret", "acme/*"));
  EXPECT_TRUE(GlobsIntersect("*-3", "llama*"));
  EXPECT_FALSE(GlobsIntersect("acme/*", "bob/*"));
  EXPECT_FALSE(GlobsIntersect("acme/*", "acme/x/y"));
  EXPECT_FALSE(GlobsIntersect("a*b", "c*"));
  EXPECT_FALSE(GlobsIntersect("*", "a/**"));
}

// Every string over {a, b, /} up to `max` bytes.
void ForEachName(size_t max, const std::function<void(const std::string&)>& f) {
  std::vector<std::string> layer{""};
  f("");
  for (size_t len = 1; len <= max; ++len) {
    std::vector<std::string> next;
    for (const std::string& s : layer) {
      for (char c : std::string_view("ab/")) {
        next.push_back(s + c);
        f(next.back());
      }
    }
    layer = std::move(next);
  }
}

rc::Gen<std::string> SmallGlob() {
  return rc::gen::map(
      rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 5)),
      [](const std::vector<int>& picks) {
        static const char* kPieces[] = {"a", "b", "/", "*", "**"};
        std::string glob;
        for (size_t i = 0; i < picks.size() && i < 5; ++i) {
          std::string piece = kPieces[picks[i]];
          // Never three stars in a row (ValidateGlob refuses `***`).
          if (piece[0] == '*' && !glob.empty() && glob.back() == '*') continue;
          glob += piece;
        }
        return glob.empty() ? std::string("a") : glob;
      });
}

TEST(CoverageProperty, InclusionIsSoundAndIntersectionExact) {
  // GlobIncludes never claims too much; GlobsIntersect agrees with brute force.
  mvtesting::CheckProperty(100, [] {
    const std::string outer = *SmallGlob(), inner = *SmallGlob();
    const bool includes = GlobIncludes(outer, inner);
    bool common = false, escapes = false;
    ForEachName(7, [&](const std::string& name) {
      const bool in_inner = RefGlob(inner, name);
      const bool in_outer = RefGlob(outer, name);
      common = common || (in_inner && in_outer);
      escapes = escapes || (in_inner && !in_outer);
    });
    if (includes) RC_ASSERT(!escapes);
    RC_ASSERT(GlobsIntersect(outer, inner) == common);
  });
}

TEST(CheckCoversTest, RootCoversEverythingAndOnlyRootCoversRoot) {
  const Policy root = Root();
  const Policy wide = Parsed("wide", R"({"rules":[{"effect":"allow",
      "artifacts":["**"],"actions":["read","write","admin:tokens"]}]})");
  EXPECT_THAT(CheckCovers({&root}, wide), IsOk());
  EXPECT_THAT(CheckCovers({&root}, root), IsOk());
  EXPECT_THAT(CheckCovers({&wide}, root),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("only a root caller")));
}

TEST(CheckCoversTest, NamesTheFirstUncoveredRule) {
  const Policy mine = Parsed("mine", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/**"],"actions":["read","list"]}]})");
  const Policy narrower = Parsed("narrower", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/llama-*"],"actions":["read"]}]})");
  const Policy wider = Parsed("wider", R"({"rules":[
      {"effect":"allow","artifacts":["acme/x"],"actions":["list"]},
      {"effect":"allow","artifacts":["**"],"actions":["read"]}]})");
  const Policy more_actions = Parsed("more", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/x"],"actions":["read","delete"]}]})");
  const Policy admin = Parsed("admin", R"({"rules":[{"effect":"allow",
      "actions":["admin:policies"]}]})");
  EXPECT_THAT(CheckCovers({&mine}, narrower), IsOk());
  EXPECT_THAT(CheckCovers({&mine}, wider),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("policy wider rule 1 (read on **)")));
  EXPECT_THAT(CheckCovers({&mine}, more_actions),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("rule 0 (delete on acme/x)")));
  EXPECT_THAT(CheckCovers({&mine}, admin),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("(admin:policies)")));
  EXPECT_THAT(CheckCovers({&admin}, admin), IsOk());
}

TEST(CheckCoversTest, DenyRulesAreFreeToGrantButBlockCover) {
  const Policy mine = Parsed("mine", R"({"rules":[
      {"effect":"allow","artifacts":["acme/**"],"actions":["read"]},
      {"effect":"deny","artifacts":["acme/secret"],"actions":["read"]}]})");
  const Policy deny_only = Parsed("deny-only", R"({"rules":[{"effect":"deny",
      "artifacts":["**"],"actions":["read","delete","admin:audit"]}]})");
  const Policy overlapping = Parsed("overlap", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/*"],"actions":["read"]}]})");
  const Policy disjoint = Parsed("disjoint", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/public/*"],"actions":["read"]}]})");
  EXPECT_THAT(CheckCovers({&mine}, deny_only), IsOk());
  EXPECT_THAT(CheckCovers({&mine}, overlapping),
              StatusIs(absl::StatusCode::kPermissionDenied, ::testing::_));
  EXPECT_THAT(CheckCovers({&mine}, disjoint), IsOk());
}

TEST(CheckCoversTest, ConditionsMustBeAbsentOrIdentical) {
  const Policy from_lan = Parsed("lan", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/**"],"actions":["read"],
      "conditions":{"source_cidrs":["10.0.0.0/8"]}}]})");
  const Policy same = Parsed("same", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/x"],"actions":["read"],
      "conditions":{"source_cidrs":["10.0.0.0/8"]}}]})");
  const Policy anywhere = Parsed("anywhere", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/x"],"actions":["read"]}]})");
  const Policy budgeted = Parsed("budget", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/x"],"actions":["read"],
      "conditions":{"max_downloads_per_day":5}}]})");
  EXPECT_THAT(CheckCovers({&from_lan}, same), IsOk());
  EXPECT_THAT(CheckCovers({&from_lan}, anywhere),
              StatusIs(absl::StatusCode::kPermissionDenied, ::testing::_));
  EXPECT_THAT(CheckCovers({&from_lan}, budgeted),
              StatusIs(absl::StatusCode::kPermissionDenied, ::testing::_));
  // An unconditional right covers a conditional grant.
  EXPECT_THAT(CheckCovers({&anywhere}, budgeted), IsOk());
}

TEST(CheckCoversTest, LiftingADenyRuleNeedsTheRightItDenied) {
  const Policy mine = Parsed("mine", R"({"rules":[{"effect":"allow",
      "artifacts":["acme/**"],"actions":["read"]}]})");
  const Policy fence = Parsed("fence", R"({"rules":[{"effect":"deny",
      "artifacts":["bob/**"],"actions":["read"]}]})");
  const Policy own_fence = Parsed("own", R"({"rules":[{"effect":"deny",
      "artifacts":["acme/secret"],"actions":["read"]}]})");
  EXPECT_THAT(CheckCoversRule({&mine}, "fence", 0, fence.rules[0]),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("policy fence rule 0 (read on bob/**)")));
  EXPECT_THAT(CheckCoversRule({&mine}, "own", 0, own_fence.rules[0]), IsOk());
}

TEST(CheckCoversTest, AGrantTooLargeToCheckIsRefusedNotGroundThrough) {
  // 1,000 rules of 256 long globs against as many: about 10^14 grid cells
  // if checked in full.
  auto huge = [](const std::string& name, const std::string& stem) {
    Policy p;
    p.name = name;
    for (int r = 0; r < 1000; ++r) {
      Rule rule;
      rule.actions = 1u << static_cast<int>(Action::kRead);
      for (int g = 0; g < 256; ++g)
        rule.artifacts.push_back(stem + std::string(200, 'a' + g % 26) + "*");
      p.rules.push_back(std::move(rule));
    }
    return p;
  };
  const Policy mine = huge("mine", "acme/");
  const Policy wanted = huge("wanted", "bob/");
  EXPECT_THAT(CheckCovers({&mine}, wanted),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("too large to check")));
  // Root is not checked at all.
  const Policy root = Root();
  EXPECT_THAT(CheckCovers({&root}, wanted), IsOk());
}

TEST(CheckGlobsCanMatchNamesTest, RefusesGlobsNoNameCanMatch) {
  for (const char* glob : {"ACME/**", "acme//x", "/acme", "acme/", "acme/.x",
                           "acme/-x", "a b", "acme/x@1"}) {
    Policy p;
    p.name = "p";
    Rule r;
    r.artifacts = {"ok/*", glob};
    r.actions = 1;
    p.rules = {r};
    EXPECT_THAT(CheckGlobsCanMatchNames(p),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("rules[0].artifacts[1]: glob")))
        << glob;
  }
  Policy fine = Parsed("fine", R"({"rules":[{"effect":"allow",
      "artifacts":["**","acme/*","*/x","a.b/c_d-e/**"],"actions":["read"]}]})");
  EXPECT_THAT(CheckGlobsCanMatchNames(fine), IsOk());
}

}  // namespace
}  // namespace mv
