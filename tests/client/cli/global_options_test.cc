#include "client/cli/global_options.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

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

}  // namespace
}  // namespace mvcli
