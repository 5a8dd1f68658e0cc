#include "client/lib/tls_config.h"

#include <gtest/gtest.h>

#include <map>

#include "test_util.h"

namespace mvclient {
namespace {

using testing::TempDir;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string Pem(const std::string& what) {
  return "-----BEGIN " + what + "-----\nAAAA\n-----END " + what + "-----\n";
}

class TlsConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_.File(name);
    std::ofstream(path) << content;
    return path;
  }
  TempDir dir_;
};

TEST(ResolveTlsFilesTest, FlagBeatsEnvironmentFieldByField) {
  TlsFiles flags{"flag-ca", "", "flag-key"};
  TlsFiles got =
      ResolveTlsFiles(flags, FakeEnv({{"MODELVAULT_CACERT", "env-ca"},
                                      {"MODELVAULT_CLIENT_CERT", "env-cert"},
                                      {"MODELVAULT_CLIENT_KEY", "env-key"}}));
  EXPECT_EQ(got.ca_cert, "flag-ca");
  EXPECT_EQ(got.client_cert, "env-cert");
  EXPECT_EQ(got.client_key, "flag-key");
}

TEST(ResolveTlsFilesTest, EnvironmentWhenNoFlagsAndEmptyWhenNeither) {
  TlsFiles got =
      ResolveTlsFiles(TlsFiles{}, FakeEnv({{"MODELVAULT_CACERT", "env-ca"}}));
  EXPECT_EQ(got.ca_cert, "env-ca");
  EXPECT_EQ(got.client_cert, "");
  EXPECT_EQ(ResolveTlsFiles(TlsFiles{}, FakeEnv({})).ca_cert, "");
}

TEST_F(TlsConfigTest, NoCaMeansPlaintext) {
  auto tls = LoadTlsCredentials(TlsFiles{});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_FALSE(tls->has_value());
}

TEST_F(TlsConfigTest, CaAloneIsServerAuthenticatedTls) {
  auto tls = LoadTlsCredentials(TlsFiles{Write("ca.pem", Pem("CERT")), "", ""});
  ASSERT_TRUE(tls.ok()) << tls.status();
  ASSERT_TRUE(tls->has_value());
  EXPECT_EQ((*tls)->root_certs, Pem("CERT"));
  EXPECT_EQ((*tls)->cert_chain, "");
  EXPECT_EQ((*tls)->private_key, "");
}

TEST_F(TlsConfigTest, ClientCertAndKeyAreLoaded) {
  auto tls = LoadTlsCredentials(TlsFiles{Write("ca.pem", Pem("CA")),
                                         Write("c.pem", Pem("CERT")),
                                         Write("k.pem", Pem("KEY"))});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_EQ((*tls)->cert_chain, Pem("CERT"));
  EXPECT_EQ((*tls)->private_key, Pem("KEY"));
}

TEST_F(TlsConfigTest, CertWithoutKeyOrKeyWithoutCertIsRefused) {
  std::string ca = Write("ca.pem", Pem("CA"));
  auto no_key = LoadTlsCredentials(TlsFiles{ca, Write("c.pem", Pem("C")), ""});
  EXPECT_EQ(no_key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_key.status().message().find("--client-key"), std::string::npos);
  auto no_cert = LoadTlsCredentials(TlsFiles{ca, "", Write("k.pem", Pem("K"))});
  EXPECT_EQ(no_cert.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_cert.status().message().find("--client-cert"),
            std::string::npos);
}

TEST_F(TlsConfigTest, ClientCertWithoutCaIsRefused) {
  auto tls = LoadTlsCredentials(
      TlsFiles{"", Write("c.pem", Pem("C")), Write("k.pem", Pem("K"))});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tls.status().message().find("--cacert"), std::string::npos);
}

TEST_F(TlsConfigTest, UnreadableFileNamesTheSettingAndPath) {
  std::string missing = dir_.File("missing.pem");
  auto tls = LoadTlsCredentials(TlsFiles{missing, "", ""});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tls.status().message().find("--cacert"), std::string::npos);
  EXPECT_NE(tls.status().message().find(missing), std::string::npos);

  auto key = LoadTlsCredentials(
      TlsFiles{Write("ca.pem", Pem("CA")), Write("c.pem", Pem("C")), missing});
  EXPECT_NE(key.status().message().find("--client-key"), std::string::npos);
}

TEST_F(TlsConfigTest, NonPemFileIsRefused) {
  auto tls = LoadTlsCredentials(TlsFiles{Write("ca.pem", "hello"), "", ""});
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(tls.status().message().find("not a PEM file"), std::string::npos);
}

}  // namespace
}  // namespace mvclient
