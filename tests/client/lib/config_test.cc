#include "client/lib/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace mvclient {
namespace {

namespace fs = std::filesystem;

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](
             absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class TokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mvclient_config_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "xdg" / "modelvault");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path.string();
  }

  fs::path dir_;
};

TEST(AddressTest, FlagBeatsEnvBeatsDefault) {
  auto env = FakeEnv({{"MODELVAULT_ADDR", "env:1"}});
  EXPECT_EQ(ResolveAddress(std::string("flag:2"), env), "flag:2");
  EXPECT_EQ(ResolveAddress(std::nullopt, env), "env:1");
  EXPECT_EQ(ResolveAddress(std::nullopt, FakeEnv({})), "127.0.0.1:7070");
}

TEST(AddressTest, EmptyValuesCountAsUnset) {
  auto env = FakeEnv({{"MODELVAULT_ADDR", ""}});
  EXPECT_EQ(ResolveAddress(std::string(""), env), "127.0.0.1:7070");
}

TEST_F(TokenTest, FlagFileBeatsEnvAndStripsNewline) {
  std::string file = Write(dir_ / "flag_token", "mvt_flag\n");
  auto env = FakeEnv({{"MODELVAULT_TOKEN", "mvt_env"}});
  auto token = ResolveToken(file, env);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "mvt_flag");
}

TEST_F(TokenTest, EnvBeatsConfigFile) {
  Write(dir_ / "xdg" / "modelvault" / "token", "mvt_file");
  auto env = FakeEnv({{"MODELVAULT_TOKEN", "mvt_env"},
                      {"XDG_CONFIG_HOME", (dir_ / "xdg").string()}});
  EXPECT_EQ(ResolveToken(std::nullopt, env).value_or(""), "mvt_env");
}

TEST_F(TokenTest, XdgConfigFileIsTheFallback) {
  Write(dir_ / "xdg" / "modelvault" / "token", "  mvt_file \r\n\n");
  auto env = FakeEnv({{"XDG_CONFIG_HOME", (dir_ / "xdg").string()}});
  EXPECT_EQ(ResolveToken(std::nullopt, env).value_or(""), "mvt_file");
}

TEST_F(TokenTest, HomeConfigWhenXdgUnset) {
  Write(dir_ / "home" / ".config" / "modelvault" / "token", "mvt_home\n");
  auto env = FakeEnv({{"HOME", (dir_ / "home").string()}});
  EXPECT_EQ(DefaultTokenPath(env),
            (dir_ / "home" / ".config" / "modelvault" / "token").string());
  EXPECT_EQ(ResolveToken(std::nullopt, env).value_or(""), "mvt_home");
}

TEST_F(TokenTest, NoTokenAnywhereIsUnauthenticatedWithAdvice) {
  auto env = FakeEnv({{"XDG_CONFIG_HOME", (dir_ / "empty").string()}});
  auto token = ResolveToken(std::nullopt, env);
  EXPECT_EQ(token.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_NE(token.status().message().find("--token-file"),
            absl::string_view::npos);
}

TEST_F(TokenTest, MissingExplicitFileIsNotFound) {
  auto token = ResolveToken((dir_ / "nope").string(), FakeEnv({}));
  EXPECT_EQ(token.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TokenTest, EmptyOrMultiWordFileIsRejected) {
  EXPECT_EQ(ReadTokenFile(Write(dir_ / "empty", "\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadTokenFile(Write(dir_ / "two", "a\nb\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TokenTest, TokenNeverAppearsInErrors) {
  std::string file = Write(dir_ / "two", "mvt_secret other\n");
  auto token = ReadTokenFile(file);
  ASSERT_FALSE(token.ok());
  EXPECT_EQ(token.status().message().find("mvt_secret"),
            absl::string_view::npos);
}

}  // namespace
}  // namespace mvclient
