// `modelvaultd init`: creates the data dir, the LMDB environment, the master
// key file (if absent) and the root token, which is shown once.
//
// With --key-shares N --key-threshold M the vault is sealed by unseal keys
// instead: a random master key is split (crypto/unseal_shares.h), the N
// unseal keys are shown once (or written to PREFIX.1..N, mode 0600), only
// the seal file (N, M and the vault tag; no secret) is kept, and the key
// itself is wiped. No master key file exists for such a vault.
#include <sodium.h>
#include <unistd.h>

#include <cstdio>

#include "crypto/master_key.h"
#include "crypto/unseal_shares.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

struct InitOptions {
  VaultLocation location;
  std::string root_token_file;
  uint32_t key_shares = 0, key_threshold = 0;  // 0: a key-file vault
  std::string unseal_key_files;                // "" = stdout
};

std::string UnsealKeyFile(const InitOptions& options, uint32_t i) {
  return UnsealKeyFileName(options.unseal_key_files, i);
}

// Refuses before anything is created: flag combinations, an existing
// vault, root token file or unseal key file.
absl::Status CheckSealedInit(const InitOptions& options) {
  if (options.key_shares == 0 || options.key_threshold == 0) {
    return absl::InvalidArgumentError(
        "--key-shares and --key-threshold go together");
  }
  if (absl::Status s =
          mv::ValidateSealConfig(options.key_shares, options.key_threshold);
      !s.ok())
    return s;
  if (!options.location.master_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--master-key-file and --key-shares exclude each other: a vault "
        "sealed by unseal keys keeps no master key file");
  }
  if (mv::Vault::Exists(options.location.data_dir)) {
    return absl::AlreadyExistsError("a vault already exists in " +
                                    options.location.data_dir +
                                    "; nothing changed");
  }
  if (absl::Status s = CheckRootTokenFileIsNew(options.root_token_file);
      !s.ok())
    return s;
  for (uint32_t i = 1;
       !options.unseal_key_files.empty() && i <= options.key_shares; ++i) {
    if (access(UnsealKeyFile(options, i).c_str(), F_OK) == 0) {
      return absl::AlreadyExistsError("unseal key file " +
                                      UnsealKeyFile(options, i) +
                                      " already exists; nothing changed");
    }
  }
  return absl::OkStatus();
}

int RunSealedInit(const InitOptions& options) {
  if (absl::Status s = CheckSealedInit(options); !s.ok()) return Fail(s);
  const std::string& dir = options.location.data_dir;
  absl::StatusOr<mv::SecretKey> kek = mv::SecretKey::Random();
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<std::vector<std::string>> shares =
      mv::SplitKey(*kek, options.key_shares, options.key_threshold);
  if (!shares.ok()) return Fail(shares.status());
  const mv::SealConfig seal{options.key_shares, options.key_threshold,
                            mv::ShareTag(*kek)};
  mv::VaultOptions vault_options;
  vault_options.data_dir = dir;
  vault_options.map_size = options.location.map_size_mib << 20;
  // The key is wiped when Init returns (SecretKey's destructor).
  absl::StatusOr<std::string> root_token =
      mv::Vault::Init(vault_options, *std::move(kek));
  if (!root_token.ok()) return Fail(root_token.status());
  const absl::Status sealed = mv::WriteSealConfig(dir, seal);
  std::fprintf(stderr,
               "modelvaultd: initialised vault in %s, sealed by %u "
               "unseal keys (threshold %u); no master key is kept\n",
               dir.c_str(), seal.shares, seal.threshold);
  // Shown even if the seal file failed: without them the vault is lost.
  int code = ShowUnsealKeys(options.unseal_key_files, options.key_threshold,
                            *std::move(shares));
  if (int shown = ShowRootToken(*root_token, options.root_token_file);
      shown != 0)
    code = shown;
  if (!sealed.ok()) {
    return Fail("cannot write the seal file (" + std::string(sealed.message()) +
                "); create " + dir + "/" + std::string(mv::kSealFileName) +
                " (mode 0600) holding: " + mv::FormatSealConfig(seal));
  }
  return code;
}

int RunInit(const InitOptions& options) {
  if (options.key_shares != 0 || options.key_threshold != 0 ||
      !options.unseal_key_files.empty()) {
    if (!options.unseal_key_files.empty() && options.key_shares == 0)
      return Fail("--unseal-key-files needs --key-shares and --key-threshold");
    return RunSealedInit(options);
  }
  if (options.location.master_key_file.empty()) {
    return Fail(
        "--master-key-file is required (or --key-shares and "
        "--key-threshold, for a vault sealed by unseal keys)");
  }
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
  AddVaultLocationOptions(cmd, &options->location, /*offline=*/false);
  cmd->add_option(
      "--root-token-file", options->root_token_file,
      "Write the root token to this new file (mode 0600) instead of stdout");
  cmd->add_option("--key-shares", options->key_shares,
                  "Seal the vault by this many unseal keys (Shamir's scheme) "
                  "instead of a master key file: 1-255");
  cmd->add_option("--key-threshold", options->key_threshold,
                  "Unseal keys needed to unseal the vault: 2..--key-shares "
                  "(1 only with one key share)");
  cmd->add_option("--unseal-key-files", options->unseal_key_files,
                  "Write unseal key i to the new file PREFIX.i (mode 0600) "
                  "instead of stdout");
  cmd->callback([options, exit_code] { *exit_code = RunInit(*options); });
}

}  // namespace mvserver
