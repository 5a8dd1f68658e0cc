// Only the client's own helpers: the reference grammar itself is the core's
// and is tested in tests/src/vault/reference_test.cc.
#include "client/lib/reference.h"

#include <gtest/gtest.h>

#include <string>

namespace mvclient {
namespace {

TEST(QuoteForMessageTest, ReplacesControlAndNonAsciiBytes) {
  EXPECT_EQ(QuoteForMessage("a\nmvault: ok\x1b[2J\xc3\xa9"),
            "\"a?mvault: ok?[2J??\"");
}

TEST(QuoteForMessageTest, TruncatesLongInputTo80Bytes) {
  EXPECT_EQ(QuoteForMessage(std::string(100, 'a')),
            "\"" + std::string(80, 'a') + "...\"");
  EXPECT_EQ(QuoteForMessage(std::string(80, 'a')),
            "\"" + std::string(80, 'a') + "\"");
}

TEST(DefaultDestinationTest, IsTheLastNameSegment) {
  EXPECT_EQ(DefaultDestination(*mv::ParseReference("acme/llama-3-8b@prod")),
            "./llama-3-8b");
  EXPECT_EQ(DefaultDestination(*mv::ParseReference("solo")), "./solo");
  EXPECT_EQ(DefaultDestination(*mv::ParseReference("a/b/c/model.gguf@3")),
            "./model.gguf");
}

}  // namespace
}  // namespace mvclient
