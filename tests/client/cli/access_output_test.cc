#include "client/cli/access_output.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "client/cli/output.h"

namespace mvcli {
namespace {

using mvclient::Identity;
using mvclient::IssuedToken;
using mvclient::Principal;
using mvclient::PrincipalKind;
using mvclient::TokenInfo;

constexpr int64_t kMay1 = 1714564800123;  // 2024-05-01T12:00:00.123Z

TokenInfo SampleToken() {
  return TokenInfo{"acc_1", "bob", {"reader"}, kMay1, kMay1 + 3600000, 5};
}

TEST(AccessOutputTest, PrincipalJsonHasStableFieldNamesAndTypes) {
  nlohmann::json j = PrincipalToJson(Principal{
      "trainer", PrincipalKind::kService, {"a", "b"}, "uri:spiffe://x", kMay1});
  EXPECT_EQ(j["name"], "trainer");
  EXPECT_EQ(j["kind"], "service");
  EXPECT_EQ(j["policies"], nlohmann::json::array({"a", "b"}));
  EXPECT_EQ(j["cert_identity"], "uri:spiffe://x");
  EXPECT_EQ(j["created_at"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(j.size(), 5u);  // a new field must be added here on purpose
}

TEST(AccessOutputTest, PrincipalWithoutCertOrPoliciesUsesNullAndArray) {
  nlohmann::json j =
      PrincipalToJson(Principal{"bob", PrincipalKind::kUser, {}, "", 0});
  EXPECT_EQ(j["kind"], "user");
  EXPECT_TRUE(j["cert_identity"].is_null());
  EXPECT_TRUE(j["policies"].is_array());
  EXPECT_TRUE(j["policies"].empty());
}

TEST(AccessOutputTest, TokenJsonHasStableFieldNamesAndTypes) {
  nlohmann::json j = TokenInfoToJson(SampleToken());
  EXPECT_EQ(j["accessor"], "acc_1");
  EXPECT_EQ(j["principal"], "bob");
  EXPECT_EQ(j["policies"], nlohmann::json::array({"reader"}));
  EXPECT_EQ(j["created_at"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(j["expires_at"], "2024-05-01T13:00:00.123Z");
  EXPECT_EQ(j["uses_left"], 5);
  EXPECT_EQ(j.size(), 6u);
}

TEST(AccessOutputTest, UnlimitedTokenHasNullExpiryAndUses) {
  TokenInfo t = SampleToken();
  t.expires_at_unix_ms = 0;
  t.uses_left = -1;
  nlohmann::json j = TokenInfoToJson(t);
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_TRUE(j["uses_left"].is_null());
}

TEST(AccessOutputTest, NewTokenJsonAddsTheTokenToItsInfo) {
  nlohmann::json j = IssuedTokenToJson(IssuedToken{"mvt_s", SampleToken()});
  for (const char* key : {"token", "accessor", "principal", "policies",
                          "created_at", "expires_at", "uses_left"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["token"], "mvt_s");
  EXPECT_EQ(j.size(), 7u);
}

TEST(AccessOutputTest, IdentityJsonHasStableFieldNamesAndTypes) {
  Identity id{"alice", PrincipalKind::kUser,  {"reader"},
              "acc_1", "spiffe://acme/alice", kMay1,
              3};
  nlohmann::json j = IdentityToJson(id);
  EXPECT_EQ(j["principal"], "alice");
  EXPECT_EQ(j["kind"], "user");
  EXPECT_EQ(j["policies"], nlohmann::json::array({"reader"}));
  EXPECT_EQ(j["accessor"], "acc_1");
  EXPECT_EQ(j["tls_identity"], "spiffe://acme/alice");
  EXPECT_EQ(j["expires_at"], "2024-05-01T12:00:00.123Z");
  EXPECT_EQ(j["uses_left"], 3);
  EXPECT_EQ(j.size(), 7u);
}

TEST(AccessOutputTest, CertificateOnlyIdentityHasNullTokenFields) {
  Identity id{"trainer", PrincipalKind::kService, {}, "", "spiffe://t", 0, 0};
  nlohmann::json j = IdentityToJson(id);
  EXPECT_TRUE(j["accessor"].is_null());
  EXPECT_TRUE(j["expires_at"].is_null());
  EXPECT_TRUE(j["uses_left"].is_null());
  EXPECT_EQ(j["tls_identity"], "spiffe://t");
  std::string text = IdentityDetails(id);
  EXPECT_NE(text.find("accessor:     - (no token)"), std::string::npos) << text;
}

TEST(AccessOutputTest, TablesHaveHeaderAndOneRowEach) {
  std::string principals = PrincipalsTable(
      {Principal{"bob", PrincipalKind::kUser, {"reader"}, "", kMay1},
       Principal{"trainer", PrincipalKind::kService, {}, "spiffe://t", 0}});
  EXPECT_EQ(principals.rfind("NAME", 0), 0u);
  EXPECT_EQ(std::count(principals.begin(), principals.end(), '\n'), 3);
  EXPECT_NE(principals.find("spiffe://t"), std::string::npos);

  TokenInfo unlimited = SampleToken();
  unlimited.expires_at_unix_ms = 0;
  unlimited.uses_left = -1;
  std::string tokens = TokensTable({SampleToken(), unlimited});
  EXPECT_EQ(tokens.rfind("ACCESSOR", 0), 0u);
  EXPECT_NE(tokens.find("never"), std::string::npos);
  EXPECT_NE(tokens.find("unlimited"), std::string::npos);
}

TEST(AccessOutputTest, TokenDetailsNeverInventASecret) {
  std::string text = TokenDetails(SampleToken());
  EXPECT_NE(text.find("accessor:   acc_1"), std::string::npos);
  EXPECT_EQ(text.find("mvt_"), std::string::npos);
}

}  // namespace
}  // namespace mvcli
