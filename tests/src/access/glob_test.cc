#include "access/glob.h"

#include <gtest/gtest.h>

#include "access/policy.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using access_internal::CompiledGlob;
using access_internal::ValidateGlob;
using mvtesting::IsOk;
using mvtesting::StatusIs;
using testing::HasSubstr;

// Both matchers must agree on every case.
bool Both(std::string_view glob, std::string_view name) {
  bool general = GlobMatch(glob, name);
  bool compiled = CompiledGlob(glob).Match(name);
  EXPECT_EQ(general, compiled) << glob << " vs " << name;
  EXPECT_EQ(general, access_internal::MatchNfa(glob, name))
      << glob << " vs " << name;
  return general;
}

TEST(GlobTest, LiteralMatchesOnlyItself) {
  EXPECT_TRUE(Both("acme/llama", "acme/llama"));
  EXPECT_FALSE(Both("acme/llama", "acme/llama2"));
  EXPECT_FALSE(Both("acme/llama", "acme/llam"));
  EXPECT_FALSE(Both("acme/llama", "acme"));
}

TEST(GlobTest, StarStaysWithinOneSegment) {
  EXPECT_TRUE(Both("acme/llama-*", "acme/llama-7b"));
  EXPECT_TRUE(Both("acme/llama-*", "acme/llama-"));
  EXPECT_FALSE(Both("acme/llama-*", "acme/llama-7b/ckpt"));
  EXPECT_TRUE(Both("acme/*/ckpt", "acme/run/ckpt"));
  EXPECT_FALSE(Both("acme/*/ckpt", "acme/a/b/ckpt"));
  EXPECT_FALSE(Both("*", "a/b"));
  EXPECT_TRUE(Both("*", "ab"));
  EXPECT_TRUE(Both("*", ""));
  EXPECT_TRUE(Both("a*b*c", "axxbyyc"));
  EXPECT_FALSE(Both("a*b*c", "ax/bc"));
}

TEST(GlobTest, DoubleStarAtStartCrossesSegments) {
  EXPECT_TRUE(Both("**/ckpt", "acme/run/ckpt"));
  EXPECT_TRUE(Both("**/ckpt", "a/ckpt"));
  EXPECT_FALSE(Both("**/ckpt", "ckpt"));  // `**` is not "zero segments"
  EXPECT_TRUE(Both("**-internal", "acme/llama-internal"));
}

TEST(GlobTest, DoubleStarInTheMiddleCrossesSegments) {
  EXPECT_TRUE(Both("acme/**/ckpt", "acme/run/42/ckpt"));
  EXPECT_TRUE(Both("acme/**/ckpt", "acme/x/ckpt"));
  EXPECT_FALSE(Both("acme/**/ckpt", "acme/ckpt"));
  EXPECT_TRUE(Both("acme/**ckpt", "acme/ckpt"));
  EXPECT_TRUE(Both("a**b*c", "a/x/byc"));
  EXPECT_FALSE(Both("a**b*c", "a/x/b/yc"));  // the last `*` cannot take "/y"
  EXPECT_FALSE(Both("a**b*c", "a/x/b/y/c2"));
}

TEST(GlobTest, DoubleStarAtEndMatchesEverythingBelow) {
  EXPECT_TRUE(Both("acme/runs/**", "acme/runs/42"));
  EXPECT_TRUE(Both("acme/runs/**", "acme/runs/42/step-9"));
  EXPECT_FALSE(Both("acme/runs/**", "acme/runs"));
  EXPECT_FALSE(Both("acme/runs/**", "acme/runsx/1"));
  EXPECT_TRUE(Both("**", "anything/at/all"));
  EXPECT_TRUE(Both("**", ""));
}

TEST(GlobTest, OtherMetacharactersAreLiteral) {
  EXPECT_TRUE(Both("a?c", "a?c"));
  EXPECT_FALSE(Both("a?c", "abc"));
  EXPECT_TRUE(Both("a[b]c", "a[b]c"));
  EXPECT_FALSE(Both("a[b]c", "abc"));
  EXPECT_TRUE(Both("a\\*", "a\\xyz"));  // a backslash does not escape
  EXPECT_FALSE(Both("a.c", "abc"));
  EXPECT_TRUE(Both("a.c", "a.c"));
}

TEST(GlobTest, PathologicalPatternsStayLinear) {
  std::string name(200, 'a');
  EXPECT_FALSE(Both("**a**a**a**a**a**a**a**a**a**a**b", name));
  EXPECT_FALSE(Both("*a*a*a*a*a*a*a*a*a*a*a*a*b", name));
}

TEST(GlobTest, LiteralFirstSegmentIsKnownOnlyWithoutWildcard) {
  EXPECT_EQ(CompiledGlob("acme/llama-*").LiteralFirstSegment(), "acme");
  EXPECT_EQ(CompiledGlob("acme").LiteralFirstSegment(), "acme");
  EXPECT_EQ(CompiledGlob("acme/**").LiteralFirstSegment(), "acme");
  EXPECT_EQ(CompiledGlob("ac*/x").LiteralFirstSegment(), "");
  EXPECT_EQ(CompiledGlob("**").LiteralFirstSegment(), "");
  EXPECT_EQ(CompiledGlob("acme*").LiteralFirstSegment(), "");
}

TEST(GlobTest, ValidateRejectsEmptyTripleStarAndOddBytes) {
  EXPECT_THAT(ValidateGlob("acme/**"), IsOk());
  EXPECT_THAT(ValidateGlob("*/*"), IsOk());
  EXPECT_THAT(ValidateGlob(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ValidateGlob("a/***"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("***")));
  EXPECT_THAT(ValidateGlob("a b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("space")));
  EXPECT_THAT(
      ValidateGlob("a\x01"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("control")));
  EXPECT_THAT(
      ValidateGlob("caf\xc3\xa9"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("non-ASCII")));
  EXPECT_THAT(ValidateGlob(std::string(257, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("256")));
  EXPECT_THAT(ValidateGlob(std::string(256, 'a')), IsOk());
}

}  // namespace
}  // namespace mv
