// `modelvaultd rekey`: the vault's keyring moved under a new master key,
// offline and atomically (Vault::Rekey): afterwards the old key, or the old
// unseal keys, no longer open the vault.
//
//   modelvaultd rekey --data-dir D --old-key K1 --new-key K2
//   modelvaultd rekey --data-dir D --old-key K1 --key-shares 5 --key-threshold
//   3 modelvaultd rekey --data-dir D --unseal-keys-stdin --new-key K2 < keys
//
// A new key file is created (mode 0600, 32 random bytes) unless it exists;
// new unseal keys are shown (or written) before the vault changes, so they
// can never be lost with the vault already under them. The seal file
// (crypto/unseal_shares.h) follows the new kind of key after the commit.
#include <sodium.h>
#include <unistd.h>

#include <cstdio>

#include "crypto/master_key.h"
#include "crypto/unseal_shares.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

struct RekeyOptions {
  VaultLocation location;
  std::string old_key;  // the same as --master-key-file
  std::string new_key;
  uint32_t key_shares = 0, key_threshold = 0;
  std::string unseal_key_files;
};

absl::Status CheckFlags(RekeyOptions* options) {
  if (!options->old_key.empty()) {
    if (!options->location.master_key_file.empty()) {
      return absl::InvalidArgumentError(
          "--old-key and --master-key-file name the same key; give one");
    }
    options->location.master_key_file = options->old_key;
  }
  const bool shares = options->key_shares != 0 || options->key_threshold != 0;
  if (shares == !options->new_key.empty()) {
    return absl::InvalidArgumentError(
        "give the new key: --new-key FILE, or --key-shares N "
        "--key-threshold M");
  }
  if (!options->unseal_key_files.empty() && !shares)
    return absl::InvalidArgumentError("--unseal-key-files needs --key-shares");
  if (shares) {
    return mv::ValidateSealConfig(options->key_shares, options->key_threshold);
  }
  return absl::OkStatus();
}

// The new key: a key file's (created if absent), or a random one split into
// unseal keys that are shown now. `seal` is set for the latter.
absl::StatusOr<mv::SecretKey> NewKey(const RekeyOptions& options,
                                     std::optional<mv::SealConfig>* seal) {
  if (!options.new_key.empty()) {
    if (access(options.new_key.c_str(), F_OK) == 0)
      return mv::LoadMasterKeyFile(options.new_key);
    absl::StatusOr<mv::SecretKey> key =
        mv::CreateMasterKeyFile(options.new_key);
    if (key.ok()) {
      std::fprintf(stderr, "modelvaultd: new master key written to %s\n",
                   options.new_key.c_str());
    }
    return key;
  }
  for (uint32_t i = 1;
       !options.unseal_key_files.empty() && i <= options.key_shares; ++i) {
    const std::string file = UnsealKeyFileName(options.unseal_key_files, i);
    if (access(file.c_str(), F_OK) == 0) {
      return absl::AlreadyExistsError("unseal key file " + file +
                                      " already exists; nothing changed");
    }
  }
  absl::StatusOr<mv::SecretKey> key = mv::SecretKey::Random();
  if (!key.ok()) return key.status();
  absl::StatusOr<std::vector<std::string>> shares =
      mv::SplitKey(*key, options.key_shares, options.key_threshold);
  if (!shares.ok()) return shares.status();
  if (ShowUnsealKeys(options.unseal_key_files, options.key_threshold,
                     *std::move(shares)) != 0) {
    return absl::InternalError(
        "the new unseal keys could not all be "
        "written; nothing changed");
  }
  *seal = mv::SealConfig{options.key_shares, options.key_threshold,
                         mv::ShareTag(*key)};
  return key;
}

int RunRekey(RekeyOptions options) {
  if (absl::Status s = CheckFlags(&options); !s.ok()) return Fail(s);
  const std::string& dir = options.location.data_dir;
  DataDirLock lock;
  mv::VaultOptions vault_options;
  absl::StatusOr<mv::SecretKey> old_key = BeginOfflineChange(
      options.location, "", "rekeying", &lock, &vault_options);
  if (!old_key.ok()) return Fail(old_key.status());
  std::optional<mv::SealConfig> seal;
  absl::StatusOr<mv::SecretKey> new_key = NewKey(options, &seal);
  if (!new_key.ok()) return Fail(new_key.status());
  if (absl::Status s = mv::Vault::Rekey(vault_options, *std::move(old_key),
                                        *std::move(new_key));
      !s.ok()) {
    if (seal) {
      std::fprintf(stderr,
                   "modelvaultd: the unseal keys above are void: the vault "
                   "still opens with its old key\n");
    }
    return Fail(s);
  }
  // Committed: the seal file now follows the new key.
  const std::string seal_file = dir + "/" + std::string(mv::kSealFileName);
  unlink(seal_file.c_str());
  if (seal) {
    if (absl::Status s = mv::WriteSealConfig(dir, *seal); !s.ok()) {
      return Fail("rekeyed, but the seal file could not be written (" +
                  std::string(s.message()) + "); create " + seal_file +
                  " (mode 0600) holding: " + mv::FormatSealConfig(*seal));
    }
    std::fprintf(stderr,
                 "modelvaultd: rekeyed %s: sealed by %u unseal keys "
                 "(threshold %u); the old key no longer opens it (audited)\n",
                 dir.c_str(), seal->shares, seal->threshold);
    return 0;
  }
  std::fprintf(stderr,
               "modelvaultd: rekeyed %s to the key in %s; the old key no "
               "longer opens it (audited)\n",
               dir.c_str(), options.new_key.c_str());
  return 0;
}

}  // namespace

void SetupRekeyCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<RekeyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "rekey",
      "Move a stopped vault's keyring under a new master key or new unseal "
      "keys (offline, atomic, audited).\n"
      "  example: modelvaultd rekey --data-dir D --old-key K1 --new-key K2");
  AddVaultLocationOptions(cmd, &options->location);
  AddWitnessOption(cmd, &options->location);
  cmd->add_option("--old-key", options->old_key,
                  "The vault's current master key file (= --master-key-file)")
      ->type_name("FILE");
  cmd->add_option("--new-key", options->new_key,
                  "The new master key file (created, mode 0600, if absent)")
      ->type_name("FILE");
  cmd->add_option("--key-shares", options->key_shares,
                  "Instead of --new-key: split a new key into N unseal keys")
      ->type_name("N");
  cmd->add_option("--key-threshold", options->key_threshold,
                  "With --key-shares: how many of them unseal the vault")
      ->type_name("M");
  cmd->add_option("--unseal-key-files", options->unseal_key_files,
                  "With --key-shares: write unseal key i to PREFIX.i (mode "
                  "0600) instead of stdout")
      ->type_name("PREFIX");
  cmd->callback([options, exit_code] { *exit_code = RunRekey(*options); });
}

}  // namespace mvserver
