// `modelvaultd init`: creates the data dir, the LMDB environment, the master
// key file (if absent) and the root token, which is shown once.
#include <unistd.h>

#include <cstdio>

#include "crypto/master_key.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

struct InitOptions {
  VaultLocation location;
  std::string root_token_file;
};

int RunInit(const InitOptions& options) {
  const std::string& dir = options.location.data_dir;
  // Refuse before touching anything, key file included.
  if (mv::Vault::Exists(dir))
    return Fail("a vault already exists in " + dir + "; nothing changed");
  if (!options.root_token_file.empty() &&
      access(options.root_token_file.c_str(), F_OK) == 0) {
    return Fail("root token file " + options.root_token_file +
                " already exists; nothing changed");
  }
  const std::string& key_file = options.location.master_key_file;
  bool created_key = access(key_file.c_str(), F_OK) != 0;
  absl::StatusOr<mv::SecretKey> kek = created_key
                                          ? mv::CreateMasterKeyFile(key_file)
                                          : mv::LoadMasterKeyFile(key_file);
  if (!kek.ok()) return Fail(kek.status());
  mv::VaultOptions vault_options;
  vault_options.data_dir = dir;
  vault_options.map_size = options.location.map_size_mib << 20;
  absl::StatusOr<std::string> root_token =
      mv::Vault::Init(vault_options, *std::move(kek));
  if (!root_token.ok()) return Fail(root_token.status());
  if (created_key)
    std::fprintf(
        stderr,
        "modelvaultd: wrote new master key to %s (mode 0600); back it up\n",
        key_file.c_str());
  std::fprintf(stderr, "modelvaultd: initialised vault in %s\n", dir.c_str());
  if (!options.root_token_file.empty()) {
    absl::Status written =
        mv::WriteSecretFile(options.root_token_file, *root_token + "\n");
    if (!written.ok()) return Fail(written);
    std::fprintf(stderr, "modelvaultd: root token written to %s (mode 0600)\n",
                 options.root_token_file.c_str());
  } else {
    std::fprintf(stderr,
                 "modelvaultd: root token (shown once; store it safely):\n");
    std::printf("%s\n", root_token->c_str());
  }
  return 0;
}

}  // namespace

void SetupInitCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<InitOptions>();
  CLI::App* cmd = app.add_subcommand(
      "init", "Create a new vault (data dir, master key, root token)");
  AddVaultLocationOptions(cmd, &options->location);
  cmd->add_option(
      "--root-token-file", options->root_token_file,
      "Write the root token to this new file (mode 0600) instead of stdout");
  cmd->callback([options, exit_code] { *exit_code = RunInit(*options); });
}

}  // namespace mvserver
