// Pieces of the access commands that run without a server: reading policy
// files, reading a token from stdin, and where login saves it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "client/cli/admin_policy_command.h"
#include "client/cli/exit_codes.h"
#include "client/cli/login_command.h"
#include "client/cli/token_prompt.h"

namespace mvcli {
namespace {

namespace fs = std::filesystem;

class AccessCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("mvcli_access_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << content;
    return path;
  }
  // A pipe whose read end yields `content` then EOF.
  int PipeWith(const std::string& content) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    EXPECT_EQ(::write(fds[1], content.data(), content.size()),
              static_cast<ssize_t>(content.size()));
    ::close(fds[1]);
    return fds[0];
  }
  fs::path dir_;
};

TEST_F(AccessCommandsTest, PolicyFileIsSentAsWritten) {
  std::string text = R"({"rules": [{"effect": "allow"}]})";
  auto got = ReadPolicyFile(Write("p.json", text));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, text);
}

TEST_F(AccessCommandsTest, BadPolicyFilesAreUsageErrorsNamingTheFile) {
  std::string missing = (dir_ / "missing.json").string();
  auto got = ReadPolicyFile(missing);
  EXPECT_EQ(ExitCodeFor(got.status()), kExitUsage);
  EXPECT_NE(got.status().message().find(missing), std::string::npos);

  std::string broken = Write("broken.json", "{\"rules\": [");
  got = ReadPolicyFile(broken);
  EXPECT_EQ(ExitCodeFor(got.status()), kExitUsage);
  EXPECT_NE(got.status().message().find("broken.json is not valid JSON"),
            std::string::npos)
      << got.status();

  got = ReadPolicyFile(Write("array.json", "[1, 2]"));
  EXPECT_EQ(ExitCodeFor(got.status()), kExitUsage);
}

TEST_F(AccessCommandsTest, TokenFromStdinIsTrimmed) {
  int fd = PipeWith("  mvt_abc\n");
  auto token = ReadTokenFromFd(fd);
  ::close(fd);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "mvt_abc");
}

TEST_F(AccessCommandsTest, EmptyOrMultiWordStdinIsRefused) {
  for (const char* bad : {"", "\n", "mvt_a mvt_b\n", "mvt_a\nmvt_b\n"}) {
    int fd = PipeWith(bad);
    auto token = ReadTokenFromFd(fd);
    ::close(fd);
    EXPECT_EQ(token.status().code(), absl::StatusCode::kInvalidArgument)
        << '"' << bad << '"';
  }
}

TEST_F(AccessCommandsTest, LoginSavesToTokenFileFlagElseXdg) {
  auto env = [](absl::string_view name) -> std::optional<std::string> {
    if (name == "XDG_CONFIG_HOME") return std::string("/x");
    if (name == "HOME") return std::string("/h");
    return std::nullopt;
  };
  GlobalOptions globals;
  EXPECT_EQ(LoginTokenPath(globals, env), "/x/modelvault/token");
  globals.token_file = "/t/token";
  EXPECT_EQ(LoginTokenPath(globals, env), "/t/token");
}

TEST(UsageErrorTest, MapsToExitTwoWhateverTheCode) {
  EXPECT_EQ(ExitCodeFor(UsageError("bad")), kExitUsage);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("bad")), kExitError);
}

}  // namespace
}  // namespace mvcli
