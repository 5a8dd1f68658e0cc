#include "vault/reference.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Segment(size_t n) { return std::string(n, 's'); }

TEST(ValidateName, AcceptsValidNames) {
  for (const std::string& name :
       {std::string("a"), std::string("0"), std::string("llama-3.1_8b"),
        std::string("a/b/c/d"), std::string("org/team/model.v2/q4_k-m"),
        Segment(64), Segment(64) + "/" + Segment(64), std::string("a.b"),
        std::string("a-"), std::string("a_")}) {
    EXPECT_THAT(ValidateName(name), IsOk()) << name;
  }
  // Exactly 200 bytes: 3 × 64 + 3 slashes + 5.
  const std::string max =
      Segment(64) + "/" + Segment(64) + "/" + Segment(64) + "/" + Segment(5);
  ASSERT_EQ(max.size(), 200u);
  EXPECT_THAT(ValidateName(max), IsOk());
}

struct BadName {
  std::string name, defect;
};

TEST(ValidateName, RejectsInvalidNamesNamingTheDefect) {
  const std::string long_name = Segment(60) + "/" + Segment(60) + "/" +
                                Segment(60) + "/" + Segment(60) +
                                Segment(57);  // 300 bytes
  ASSERT_EQ(long_name.size(), 300u);
  for (const BadName& c : std::initializer_list<BadName>{
           {"", "empty"},
           {"a/../b", "\"..\""},
           {"a..b", "\"..\""},
           {"..", "\"..\""},
           {"Model", "must be lowercase"},
           {"moDel", "must be lowercase"},
           {"a//b", "empty segment"},
           {"/a", "empty segment"},
           {"a/", "empty segment"},
           {"/", "empty segment"},
           {"a/b/c/d/e", "more than 4 segments"},
           {long_name, "longer than 200 bytes"},
           {Segment(65), "segment longer than 64 bytes"},
           {"a/" + Segment(65), "segment longer than 64 bytes"},
           {".a", "start with a-z or 0-9"},
           {"-a", "start with a-z or 0-9"},
           {"_a", "start with a-z or 0-9"},
           {"a b", "only a-z"},
           {"a@b", "only a-z"},
           {"a:b", "only a-z"},
           {"a\\b", "only a-z"},
           {std::string("a\0b", 3), "only a-z"},
           {"a\nb", "only a-z"},
           {"caf\xc3\xa9", "only a-z"},
       }) {
    EXPECT_THAT(
        ValidateName(c.name),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.defect)))
        << "[" << c.name << "]";
  }
}

TEST(ValidateName, QuotesTheNameWithoutControlBytes) {
  EXPECT_THAT(ValidateName("a\nB"), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("\"a?B\"")));
  EXPECT_THAT(ValidateName(Segment(300)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(Segment(80) + "...\"")));
}

TEST(ValidateAlias, AcceptsValidAliases) {
  for (const std::string& alias :
       {std::string("prod"), std::string("a"), std::string("v1.2-rc_3"),
        std::string(64, 'z'), std::string("latest2"), std::string("latestx")}) {
    EXPECT_THAT(ValidateAlias(alias), IsOk()) << alias;
  }
}

TEST(ValidateAlias, RejectsInvalidAliases) {
  for (const std::string& alias :
       {std::string(""), std::string("1abc"), std::string("Prod"),
        std::string("pr od"), std::string("a/b"), std::string(65, 'z'),
        std::string(".a"), std::string("a@b")}) {
    EXPECT_THAT(ValidateAlias(alias),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid alias")))
        << alias;
  }
}

TEST(ValidateAlias, LatestIsReserved) {
  EXPECT_THAT(ValidateAlias("latest"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "alias \"latest\" is reserved"));
}

TEST(ValidateLabel, AcceptsPrintableKeysAndBoundedValues) {
  EXPECT_THAT(ValidateLabel("arch", "llama"), IsOk());
  EXPECT_THAT(ValidateLabel("Key.With-Stuff/1", ""), IsOk());
  EXPECT_THAT(ValidateLabel(std::string(64, 'k'), std::string(1024, 'v')),
              IsOk());
}

TEST(ValidateLabel, RejectsBadKeysAndLongValues) {
  for (const std::string& key :
       {std::string(""), std::string("a=b"), std::string("a b"),
        std::string(65, 'k'), std::string("a\x01"), std::string("\x7f")}) {
    EXPECT_THAT(ValidateLabel(key, "v"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("invalid label key")))
        << key;
  }
  EXPECT_THAT(ValidateLabel("k", std::string(1025, 'v')),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("value longer than 1024 bytes")));
}

TEST(ParseReference, ParsesEveryKind) {
  absl::StatusOr<Reference> r = ParseReference("org/model");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->name, "org/model");
  EXPECT_EQ(r->kind, Reference::Kind::kLatest);
  EXPECT_EQ(r->ToString(), "org/model");

  r = ParseReference("org/model@latest");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Reference::Kind::kLatest);

  r = ParseReference("org/model@12");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Reference::Kind::kNumber);
  EXPECT_EQ(r->number, 12u);
  EXPECT_EQ(r->ToString(), "org/model@12");

  r = ParseReference("org/model@18446744073709551615");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->number, UINT64_MAX);

  r = ParseReference("org/model@prod");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Reference::Kind::kAlias);
  EXPECT_EQ(r->alias, "prod");
  EXPECT_EQ(r->ToString(), "org/model@prod");

  const std::string hex(64, 'a');
  r = ParseReference("org/model@sha256:" + hex);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->kind, Reference::Kind::kDigest);
  EXPECT_EQ(r->digest, std::string(32, '\xaa'));
  EXPECT_EQ(r->ToString(), "org/model@sha256:" + hex);
  r = ParseReference("org/model@sha256:" + std::string(64, 'A'));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->ToString(), "org/model@sha256:" + hex) << "printed in lowercase";
}

TEST(ParseReference, LeadingZeroNumberIsRejectedSoEveryVersionHasOneSpelling) {
  EXPECT_THAT(ParseReference("m@01"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("bad version number")));
}

TEST(ParseReference, RejectsBadSelectorsNamingTheDefect) {
  for (const BadName& c : std::initializer_list<BadName>{
           {"m@0", "bad version number"},
           {"m@00", "bad version number"},
           {"m@1x", "bad version number"},
           {"m@1.5", "bad version number"},
           {"m@18446744073709551616", "bad version number"},
           {"m@-1", "invalid alias"},
           {"m@+1", "invalid alias"},
           {"m@", "invalid alias"},
           {"m@Prod", "invalid alias"},
           {"m@a@b", "invalid alias"},
           {"m@sha256:abc", "sha256 needs 64 hex digits"},
           {"m@sha256:", "sha256 needs 64 hex digits"},
           {"m@sha256:" + std::string(63, 'a'), "sha256 needs 64 hex digits"},
           {"m@sha256:" + std::string(65, 'a'), "sha256 needs 64 hex digits"},
           {"m@sha256:" + std::string(63, 'a') + "g",
            "sha256 needs 64 hex digits"},
           {"M@1", "must be lowercase"},
           {"@1", "artifact name is empty"},
           {"a/../b@1", "\"..\""},
       }) {
    EXPECT_THAT(
        ParseReference(c.name),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.defect)))
        << "[" << c.name << "]";
  }
}

TEST(ParseReference, BadNumberMessageQuotesTheReference) {
  EXPECT_THAT(ParseReference("org/m@0"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("\"org/m@0\""),
                             HasSubstr("bad version number"))));
}

}  // namespace
}  // namespace mv
