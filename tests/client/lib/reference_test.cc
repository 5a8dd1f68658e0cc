#include "client/lib/reference.h"

#include <gtest/gtest.h>

#include <string>

namespace mvclient {
namespace {

TEST(ReferenceTest, BareNameMeansLatest) {
  auto ref = ParseReference("acme/llama-3-8b");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->name, "acme/llama-3-8b");
  EXPECT_EQ(ref->kind, Reference::Kind::kLatest);
  EXPECT_EQ(ref->ToString(), "acme/llama-3-8b");
}

TEST(ReferenceTest, NumberSelectsVersion) {
  auto ref = ParseReference("acme/x@7");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, Reference::Kind::kVersion);
  EXPECT_EQ(ref->version, 7u);
  EXPECT_EQ(ref->ToString(), "acme/x@7");
}

TEST(ReferenceTest, WordSelectsAlias) {
  auto ref = ParseReference("acme/x@prod");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, Reference::Kind::kAlias);
  EXPECT_EQ(ref->alias, "prod");
}

TEST(ReferenceTest, DigestSelector) {
  std::string hex(64, 'a');
  auto ref = ParseReference("acme/x@sha256:" + hex);
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, Reference::Kind::kDigest);
  EXPECT_EQ(ref->sha256_hex, hex);
  EXPECT_EQ(ref->ToString(), "acme/x@sha256:" + hex);
}

TEST(ReferenceTest, UppercaseDigestIsNormalised) {
  auto ref = ParseReference("a@sha256:" + std::string(64, 'A'));
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->sha256_hex, std::string(64, 'a'));
}

TEST(ReferenceTest, MalformedDigestIsRejected) {
  EXPECT_FALSE(ParseReference("a@sha256:abc").ok());
  EXPECT_FALSE(ParseReference("a@sha256:" + std::string(64, 'g')).ok());
  EXPECT_FALSE(ParseReference("a@sha256:" + std::string(63, 'a')).ok());
}

TEST(ReferenceTest, BadVersionNumbersAreRejected) {
  for (const char* bad : {"a@0", "a@07", "a@7x", "a@99999999999999999999999"}) {
    auto ref = ParseReference(bad);
    EXPECT_EQ(ref.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(ref.status().message().find("bad version number"),
              absl::string_view::npos)
        << bad;
  }
}

TEST(ReferenceTest, AtLatestMeansLatest) {
  auto ref = ParseReference("acme/x@latest");
  ASSERT_TRUE(ref.ok()) << ref.status();
  EXPECT_EQ(ref->kind, Reference::Kind::kLatest);
}

TEST(ReferenceTest, MessagesNameTheRuleLikeTheServer) {
  EXPECT_EQ(ValidateName("Acme/x").message(),
            "invalid artifact name \"Acme/x\": must be lowercase");
  EXPECT_EQ(ValidateName("acme/-x").message(),
            "invalid artifact name \"acme/-x\": each segment must start with "
            "a-z or 0-9");
  EXPECT_EQ(ValidateName("").message(), "artifact name is empty");
}

TEST(ReferenceTest, MessagesDoNotEchoControlBytes) {
  absl::Status s = ValidateName("a\nmvault: ok\x1b[2J");
  EXPECT_EQ(s.message().find('\n'), absl::string_view::npos);
  EXPECT_EQ(s.message().find('\x1b'), absl::string_view::npos);
  EXPECT_EQ(QuoteForMessage(std::string(100, 'a')).size(), 80u + 5u);
}

TEST(ReferenceTest, EmptySelectorIsRejected) {
  EXPECT_FALSE(ParseReference("a@").ok());
}

TEST(ReferenceTest, BadNamesAreRejectedWithTheName) {
  for (const char* bad : {"Acme/x", "acme//x", "/acme", "acme/", "a/b/c/d/e",
                          "acme/../x", "a..b", "-x", "a b", "acme/x\n", "é"}) {
    absl::Status s = ValidateName(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("invalid artifact name"),
              absl::string_view::npos);
  }
}

TEST(ReferenceTest, NameLimits) {
  EXPECT_TRUE(ValidateName("a/b/c/d").ok());
  EXPECT_TRUE(ValidateName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateName(std::string(65, 'a')).ok());
  std::string long_name = std::string(64, 'a') + "/" + std::string(64, 'b') +
                          "/" + std::string(64, 'c') + "/" +
                          std::string(10, 'd');  // 205 bytes
  EXPECT_FALSE(ValidateName(long_name).ok());
  EXPECT_TRUE(ValidateName("a0._-z").ok());
}

TEST(ReferenceTest, AliasRules) {
  EXPECT_TRUE(ValidateAlias("prod").ok());
  EXPECT_TRUE(ValidateAlias("v2-rc.1").ok());
  EXPECT_FALSE(ValidateAlias("42").ok());      // would read as a version
  EXPECT_FALSE(ValidateAlias("1st").ok());     // must start with a letter
  EXPECT_FALSE(ValidateAlias("latest").ok());  // reserved
  EXPECT_FALSE(ValidateAlias("Prod").ok());
  EXPECT_FALSE(ValidateAlias("").ok());
  EXPECT_FALSE(ValidateAlias("a/b").ok());
}

TEST(ReferenceTest, DefaultDestinationIsLastSegment) {
  EXPECT_EQ(DefaultDestination(*ParseReference("acme/llama-3-8b@prod")),
            "./llama-3-8b");
  EXPECT_EQ(DefaultDestination(*ParseReference("solo")), "./solo");
  EXPECT_EQ(DefaultDestination(*ParseReference("a/b/c/model.gguf@3")),
            "./model.gguf");
}

}  // namespace
}  // namespace mvclient
