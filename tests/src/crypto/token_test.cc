#include "crypto/token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "common/bytes.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOkAndHolds;
using ::mvtesting::StatusIs;
using ::testing::Eq;
using ::testing::MatchesRegex;

bool IsBase64Url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_';
}

TEST(GenerateToken, IsMvtPrefixAnd43Base64UrlChars) {
  for (int i = 0; i < 200; ++i) {
    const std::string token = GenerateToken();
    ASSERT_EQ(token.size(), kTokenLength);
    ASSERT_EQ(token.substr(0, 4), "mvt_");
    for (char c : token.substr(4)) ASSERT_TRUE(IsBase64Url(c)) << token;
  }
}

TEST(GenerateToken, TokensAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(GenerateToken());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(GenerateAccessor, IsHexAndUnique) {
  const std::string a = GenerateAccessor();
  EXPECT_THAT(a, MatchesRegex("[0-9a-f]{24}"));
  EXPECT_NE(a, GenerateAccessor());
}

TEST(ParseBearer, ReturnsTheToken) {
  const std::string token = GenerateToken();
  EXPECT_THAT(ParseBearer("Bearer " + token), IsOkAndHolds(Eq(token)));
  const std::string edge = "mvt_" + std::string(21, '-') + std::string(22, '_');
  EXPECT_THAT(ParseBearer("Bearer " + edge), IsOkAndHolds(Eq(edge)));
}

TEST(ParseBearer, EveryMalformedHeaderGivesTheSameUnauthenticatedMessage) {
  const std::string token = GenerateToken();
  const std::string body = token.substr(4);
  const std::vector<std::string> bad = {
      "",
      "Bearer",
      "Bearer ",
      "Bearer  " + token,
      "bearer " + token,
      "BEARER " + token,
      "Basic " + token,
      "Basic dXNlcjpwYXNz",
      token,
      " Bearer " + token,
      "Bearer " + token.substr(0, kTokenLength - 1),
      "Bearer " + token + "A",
      "Bearer " + token + " ",
      "Bearer " + token + "\n",
      "Bearer mvx_" + body,
      "Bearer MVT_" + body,
      "Bearer " + body + "abcd",
      "Bearer mvt_" + body.substr(0, 42) + "=",
      "Bearer mvt_" + body.substr(0, 42) + "+",
      "Bearer mvt_" + body.substr(0, 42) + "/",
      "Bearer mvt_" + body.substr(0, 42) + ".",
      "Bearer mvt_" + body.substr(0, 21) + " " + body.substr(22),
      "Bearer mvt_" + body.substr(0, 42) + std::string(1, '\0'),
      "Bearer mvt_" + body.substr(0, 42) + "\xc3",
  };
  for (const std::string& header : bad) {
    EXPECT_THAT(ParseBearer(header),
                StatusIs(absl::StatusCode::kUnauthenticated,
                         Eq(kUnauthenticatedMessage)))
        << "header [" << header << "]";
  }
}

TEST(TokenHasher, IsDeterministic32BytesAndKeyed) {
  const std::string raw_a(32, 'a');
  TokenHasher a(*SecretKey::FromBytes(AsBytes(raw_a)));
  TokenHasher a2(*SecretKey::FromBytes(AsBytes(raw_a)));
  TokenHasher b(*SecretKey::FromBytes(AsBytes(std::string(32, 'b'))));
  const std::string token = GenerateToken();
  const std::string h = a.Hash(token);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(h, a2.Hash(token));
  EXPECT_NE(h, b.Hash(token));
  EXPECT_NE(h, a.Hash(GenerateToken()));
  EXPECT_EQ(h.find(token.substr(4, 8)), std::string::npos);
}

}  // namespace
}  // namespace mv
