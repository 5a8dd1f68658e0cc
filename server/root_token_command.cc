// `modelvaultd root-token`: offline recovery — issues a new token for the
// root principal of a stopped vault (existing tokens stay valid). Takes the
// data dir's lock like `serve`, so it refuses while a server runs. The token
// is shown once on stdout, or written to a new 0600 file.
#include <unistd.h>

#include <cstdio>

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
  if (!options.root_token_file.empty() &&
      access(options.root_token_file.c_str(), F_OK) == 0) {
    return Fail("root token file " + options.root_token_file +
                " already exists; nothing changed");
  }
  DataDirLock lock;
  if (absl::Status s = lock.Acquire(dir, "issuing a root token"); !s.ok())
    return Fail(s);
  absl::StatusOr<mv::SecretKey> kek =
      mv::LoadMasterKeyFile(options.location.master_key_file);
  if (!kek.ok()) return Fail(kek.status());
  mv::VaultOptions vault_options;
  vault_options.data_dir = dir;
  vault_options.map_size = options.location.map_size_mib << 20;
  absl::StatusOr<std::string> token =
      mv::Vault::IssueRootToken(vault_options, *std::move(kek));
  if (!token.ok()) return Fail(token.status());
  if (!options.root_token_file.empty()) {
    absl::Status written =
        mv::WriteSecretFile(options.root_token_file, *token + "\n");
    if (!written.ok()) return Fail(written);
    std::fprintf(stderr,
                 "modelvaultd: new root token written to %s (mode 0600)\n",
                 options.root_token_file.c_str());
  } else {
    std::fprintf(
        stderr, "modelvaultd: new root token (shown once; store it safely):\n");
    std::printf("%s\n", token->c_str());
  }
  return 0;
}

}  // namespace

void SetupRootTokenCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<RootTokenOptions>();
  CLI::App* cmd = app.add_subcommand(
      "root-token",
      "Issue a new root token for a stopped vault (offline recovery)");
  AddVaultLocationOptions(cmd, &options->location);
  cmd->add_option(
      "--root-token-file", options->root_token_file,
      "Write the token to this new file (mode 0600) instead of stdout");
  cmd->callback([options, exit_code] { *exit_code = RunRootToken(*options); });
}

}  // namespace mvserver
