// Argument handling of the whole CLI: usage errors exit 2 before any
// network traffic (the address below is never contacted).
#include "client/cli/app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "client/cli/pull_command.h"

namespace mvcli {
namespace {

int RunCli(std::vector<std::string> args) {
  args.insert(args.begin(), "mvault");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return RunMvault(static_cast<int>(argv.size()), argv.data());
}

TEST(AppTest, HelpExitsZero) { EXPECT_EQ(RunCli({"--help"}), 0); }

TEST(AppTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({}), 2);
  EXPECT_EQ(RunCli({"frobnicate"}), 2);
  EXPECT_EQ(RunCli({"push", "file-only"}), 2);
  EXPECT_EQ(RunCli({"push", "f", "Bad Name"}), 2);
  EXPECT_EQ(RunCli({"push", "f", "acme/x", "--label", "=v"}), 2);
  EXPECT_EQ(RunCli({"push", "f", "acme/x", "--label", "k=1", "--label", "k=2"}),
            2);
  EXPECT_EQ(RunCli({"push", "f", "acme/x", "--alias", "123"}), 2);
  EXPECT_EQ(RunCli({"pull", "acme/x@sha256:zz"}), 2);
  EXPECT_EQ(RunCli({"ls", "-o", "yaml"}), 2);
  EXPECT_EQ(RunCli({"alias"}), 2);
  EXPECT_EQ(RunCli({"alias", "rm", "acme/x@1", "prod"}), 2);
  EXPECT_EQ(RunCli({"--token", "mvt_secret", "ls"}), 2);
}

TEST(AppTest, AccessUsageErrorsExitTwo) {
  EXPECT_EQ(RunCli({"admin"}), 2);
  EXPECT_EQ(RunCli({"admin", "principal"}), 2);
  EXPECT_EQ(RunCli({"admin", "principal", "create"}), 2);
  EXPECT_EQ(RunCli({"admin", "principal", "create", "x", "--kind", "robot"}),
            2);
  EXPECT_EQ(RunCli({"admin", "principal", "attach", "x"}), 2);
  EXPECT_EQ(RunCli({"admin", "token", "create"}), 2);  // --principal required
  EXPECT_EQ(
      RunCli({"admin", "token", "create", "--principal", "x", "--ttl", "8hr"}),
      2);
  EXPECT_EQ(
      RunCli({"admin", "token", "create", "--principal", "x", "--ttl", "1.5h"}),
      2);
  EXPECT_EQ(
      RunCli({"admin", "token", "create", "--principal", "x", "--uses", "0"}),
      2);
  EXPECT_EQ(RunCli({"admin", "token", "revoke"}), 2);
  EXPECT_EQ(RunCli({"admin", "policy", "put", "reader"}), 2);
  EXPECT_EQ(RunCli({"admin", "policy", "put", "reader", "/nonexistent.json"}),
            2);
  EXPECT_EQ(RunCli({"login", "mvt_secret"}), 2);  // never a bare argv token
  EXPECT_EQ(RunCli({"--cacert", "/nonexistent.pem", "whoami"}), 2);
  EXPECT_EQ(RunCli({"--cacert", "/nonexistent.pem", "login"}), 2);
}

TEST(PullDestinationTest, DefaultsToLastNameSegment) {
  PullCommandOptions opts;
  opts.ref = "acme/llama-3-8b@prod";
  EXPECT_EQ(PullDestination(opts), "./llama-3-8b");
  opts.dest = "-";
  EXPECT_EQ(PullDestination(opts), "-");
  opts.dest = "/tmp/x";
  EXPECT_EQ(PullDestination(opts), "/tmp/x");
}

}  // namespace
}  // namespace mvcli
