#include "client/cli/global_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "client/cli/exit_codes.h"

namespace mvcli {
namespace {

mvclient::EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(GlobalOptionsTest, FlagsBeatEnvironment) {
  std::string file = std::filesystem::temp_directory_path() /
                     ("mvcli_token_" + std::to_string(::getpid()));
  std::ofstream(file) << "mvt_from_file\n";
  GlobalOptions opts;
  opts.addr = "10.0.0.1:1";
  opts.token_file = file;
  auto conn = ResolveConnection(opts, FakeEnv({{"MODELVAULT_ADDR", "env:2"},
                                               {"MODELVAULT_TOKEN", "env"}}));
  std::filesystem::remove(file);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(conn->address, "10.0.0.1:1");
  EXPECT_EQ(conn->token, "mvt_from_file");
}

TEST(GlobalOptionsTest, EnvironmentWhenNoFlags) {
  auto conn = ResolveConnection(GlobalOptions{},
                                FakeEnv({{"MODELVAULT_ADDR", "env:2"},
                                         {"MODELVAULT_TOKEN", "mvt_env\n"}}));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(conn->address, "env:2");
  EXPECT_EQ(conn->token, "mvt_env");
}

TEST(GlobalOptionsTest, NoTokenIsUnauthenticated) {
  auto conn = ResolveConnection(GlobalOptions{}, FakeEnv({}));
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST(GlobalOptionsTest, TokenOnArgvIsRefused) {
  const char* with_flag[] = {"mvault", "ls", "--token", "mvt_x"};
  const char* with_eq[] = {"mvault", "--token=mvt_x", "ls"};
  const char* fine[] = {"mvault", "--token-file", "f", "ls"};
  const char* after_dashes[] = {"mvault", "pull", "--", "--token"};
  EXPECT_FALSE(RejectTokenInArgv(4, with_flag).ok());
  EXPECT_FALSE(RejectTokenInArgv(3, with_eq).ok());
  EXPECT_TRUE(RejectTokenInArgv(4, fine).ok());
  EXPECT_TRUE(RejectTokenInArgv(4, after_dashes).ok());
}

class TlsOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mvcli_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Pem(const std::string& name) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << "-----BEGIN " << name << "-----\nAA\n-----END "
                        << name << "-----\n";
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(TlsOptionsTest, NoCaIsPlaintext) {
  auto conn = ResolveConnection(GlobalOptions{},
                                FakeEnv({{"MODELVAULT_TOKEN", "mvt_env"}}));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_FALSE(conn->tls.has_value());
}

TEST_F(TlsOptionsTest, FlagBeatsEnvironment) {
  GlobalOptions opts;
  opts.tls.ca_cert = Pem("FLAGCA");
  auto conn =
      ResolveConnection(opts, FakeEnv({{"MODELVAULT_TOKEN", "mvt_e"},
                                       {"MODELVAULT_CACERT", Pem("ENVCA")}}));
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE(conn->tls.has_value());
  EXPECT_NE(conn->tls->root_certs.find("FLAGCA"), std::string::npos);
  EXPECT_EQ(conn->tls->cert_chain, "");
}

TEST_F(TlsOptionsTest, EnvironmentGivesMutualTls) {
  auto conn = ResolveConnection(
      GlobalOptions{}, FakeEnv({{"MODELVAULT_TOKEN", "mvt_e"},
                                {"MODELVAULT_CACERT", Pem("CA")},
                                {"MODELVAULT_CLIENT_CERT", Pem("CERT")},
                                {"MODELVAULT_CLIENT_KEY", Pem("KEY")}}));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_NE(conn->tls->cert_chain.find("CERT"), std::string::npos);
  EXPECT_NE(conn->tls->private_key.find("KEY"), std::string::npos);
  EXPECT_EQ(conn->token, "mvt_e");
}

TEST_F(TlsOptionsTest, ClientCertificateMakesTheTokenOptional) {
  GlobalOptions opts;
  opts.tls = {Pem("CA"), Pem("CERT"), Pem("KEY")};
  auto conn = ResolveConnection(opts, FakeEnv({}));
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ(conn->token, "");  // no authorization header will be sent
}

TEST_F(TlsOptionsTest, ServerOnlyTlsStillNeedsAToken) {
  GlobalOptions opts;
  opts.tls.ca_cert = Pem("CA");
  auto conn = ResolveConnection(opts, FakeEnv({}));
  EXPECT_EQ(conn.status().code(), absl::StatusCode::kUnauthenticated);
}

TEST_F(TlsOptionsTest, BadTlsSettingsAreUsageErrors) {
  GlobalOptions unreadable;
  unreadable.tls.ca_cert = (dir_ / "missing.pem").string();
  auto conn = ResolveConnection(unreadable, FakeEnv({}));
  EXPECT_EQ(ExitCodeFor(conn.status()), kExitUsage) << conn.status();
  EXPECT_NE(conn.status().message().find("--cacert"), std::string::npos);

  GlobalOptions cert_only;
  cert_only.tls = {Pem("CA"), Pem("CERT"), ""};
  conn = ResolveConnection(cert_only, FakeEnv({{"MODELVAULT_TOKEN", "mvt"}}));
  EXPECT_EQ(ExitCodeFor(conn.status()), kExitUsage) << conn.status();

  GlobalOptions key_only;
  key_only.tls = {Pem("CA"), "", Pem("KEY")};
  conn = ResolveConnection(key_only, FakeEnv({{"MODELVAULT_TOKEN", "mvt"}}));
  EXPECT_EQ(ExitCodeFor(conn.status()), kExitUsage) << conn.status();
}

}  // namespace
}  // namespace mvcli
