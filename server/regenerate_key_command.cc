// `modelvaultd regenerate-key`: offline recovery of a vault-wide key that is
// missing from meta or no longer opens (Vault::RegenerateKey says what each
// one loses). `serve` never replaces such a key by itself; it refuses to
// start and names this command. Refuses a key that is intact, takes the data
// dir's lock like `serve`, and is audited ("modelvaultd regenerate-key").
#include "crypto/master_key.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

struct RegenerateKeyOptions {
  VaultLocation location;
  std::string key;
  std::string root_token_file;
};

int RunRegenerateKey(const RegenerateKeyOptions& options) {
  const std::string& dir = options.location.data_dir;
  const std::optional<mv::VaultKey> key = mv::ParseVaultKey(options.key);
  if (!key) return Fail("unknown key " + options.key);  // CLI11 checked it
  DataDirLock lock;
  mv::VaultOptions vault_options;
  absl::StatusOr<mv::SecretKey> kek =
      BeginOfflineChange(options.location, options.root_token_file,
                         "regenerating a key", &lock, &vault_options);
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<std::string> root_token =
      mv::Vault::RegenerateKey(vault_options, *std::move(kek), *key);
  if (!root_token.ok()) return Fail(root_token.status());
  std::fprintf(stderr, "modelvaultd: regenerated %s of %s (audited)\n",
               options.key.c_str(), dir.c_str());
  if (root_token->empty()) return 0;
  std::fprintf(stderr,
               "modelvaultd: every earlier token is revoked; the root "
               "principal has a new token\n");
  return ShowRootToken(*root_token, options.root_token_file);
}

}  // namespace

void SetupRegenerateKeyCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<RegenerateKeyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "regenerate-key",
      "Replace a missing or unopenable vault key of a stopped vault "
      "(offline recovery, audited)");
  AddVaultLocationOptions(cmd, &options->location);
  AddWitnessOption(cmd, &options->location);
  cmd->add_option("--key", options->key,
                  "fingerprint: copies delivered before can no longer be "
                  "traced; token: every token is revoked and a new root token "
                  "issued; key-check: nothing is lost")
      ->required()
      ->check(CLI::IsMember({"fingerprint", "token", "key-check"}));
  cmd->add_option("--root-token-file", options->root_token_file,
                  "With --key token: write the new root token to this new "
                  "file (mode 0600) instead of stdout");
  cmd->callback(
      [options, exit_code] { *exit_code = RunRegenerateKey(*options); });
}

}  // namespace mvserver
