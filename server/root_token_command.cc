// `modelvaultd root-token`: offline recovery — issues a new token for the
// root principal of a stopped vault (existing tokens stay valid). Takes the
// data dir's lock like `serve`, so it refuses while a server runs. The token
// is shown once on stdout, or written to a new 0600 file.
#include "crypto/master_key.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

struct RootTokenOptions {
  VaultLocation location;
  std::string root_token_file;
};

int RunRootToken(const RootTokenOptions& options) {
  const std::string& dir = options.location.data_dir;
  if (!mv::Vault::Exists(dir))
    return Fail("no vault in " + dir + "; nothing changed");
  if (absl::Status s = CheckRootTokenFileIsNew(options.root_token_file);
      !s.ok())
    return Fail(s);
  DataDirLock lock;
  if (absl::Status s = lock.Acquire(dir, "issuing a root token"); !s.ok())
    return Fail(s);
  absl::StatusOr<mv::VaultOptions> vault_options =
      VaultOptionsAt(options.location);
  if (!vault_options.ok()) return Fail(vault_options.status());
  absl::StatusOr<mv::SecretKey> kek =
      mv::LoadMasterKeyFile(options.location.master_key_file);
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<std::string> token = mv::Vault::IssueRootToken(
      *vault_options, *std::move(kek));
  if (!token.ok()) return Fail(token.status());
  return ShowRootToken(*token, options.root_token_file);
}

}  // namespace

void SetupRootTokenCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<RootTokenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "root-token",
      "Issue a new root token for a stopped vault (offline recovery)");
  AddVaultLocationOptions(cmd, &options->location);
  AddWitnessOption(cmd, &options->location);
  cmd->add_option(
      "--root-token-file", options->root_token_file,
      "Write the token to this new file (mode 0600) instead of stdout");
  cmd->callback([options, exit_code] { *exit_code = RunRootToken(*options); });
}

}  // namespace mvserver
