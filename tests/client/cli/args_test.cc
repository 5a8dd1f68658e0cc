#include "client/cli/args.h"

#include <gtest/gtest.h>

namespace mvcli {
namespace {

TEST(LabelTest, SplitsAtFirstEquals) {
  auto label = ParseLabel("url=https://x/?a=b");
  ASSERT_TRUE(label.ok()) << label.status();
  EXPECT_EQ(label->first, "url");
  EXPECT_EQ(label->second, "https://x/?a=b");
}

TEST(LabelTest, EmptyValueIsAllowed) {
  auto label = ParseLabel("flag=");
  ASSERT_TRUE(label.ok());
  EXPECT_EQ(label->second, "");
}

TEST(LabelTest, EmptyKeyOrNoEqualsIsRejected) {
  EXPECT_EQ(ParseLabel("=v").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseLabel("novalue").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseLabel("").ok());
}

TEST(LabelTest, KeyLimitsMatchTheServer) {
  EXPECT_FALSE(ParseLabel("a b=1").ok());
  EXPECT_FALSE(ParseLabel("k\x01=1").ok());
  EXPECT_FALSE(ParseLabel(std::string(65, 'k') + "=1").ok());
  EXPECT_TRUE(ParseLabel(std::string(64, 'k') + "=1").ok());
  EXPECT_FALSE(ParseLabel("k=" + std::string(1025, 'v')).ok());
  EXPECT_TRUE(ParseLabel("k=" + std::string(1024, 'v')).ok());
}

TEST(LabelTest, DuplicateKeysAreRejected) {
  auto labels = ParseLabels({"a=1", "b=2", "a=3"});
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(labels.status().message().find("\"a\""), absl::string_view::npos);
}

TEST(LabelTest, ParsesAll) {
  auto labels = ParseLabels({"a=1", "b=2"});
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->size(), 2u);
  EXPECT_EQ(labels->at("b"), "2");
}

TEST(ValidatorTest, ValidatorsReturnEmptyForGoodInputAndMessageForBad) {
  std::string good_ref = "acme/x@prod";
  std::string bad_ref = "Acme/x";
  EXPECT_EQ(ReferenceValidator()(good_ref), "");
  EXPECT_NE(ReferenceValidator()(bad_ref).find("invalid artifact name"),
            std::string::npos);
  std::string alias = "12";
  EXPECT_NE(AliasValidator()(alias), "");
  std::string name = "acme/x@1";  // a reference is not a name
  EXPECT_NE(NameValidator()(name), "");
  std::string label = "k=v";
  EXPECT_EQ(LabelValidator()(label), "");
}

}  // namespace
}  // namespace mvcli
