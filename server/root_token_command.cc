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
  DataDirLock lock;
  mv::VaultOptions vault_options;
  absl::StatusOr<mv::SecretKey> kek =
      BeginOfflineChange(options.location, options.root_token_file,
                         "issuing a root token", &lock, &vault_options);
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<std::string> token =
      mv::Vault::IssueRootToken(vault_options, *std::move(kek));
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
