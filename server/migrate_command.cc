// `modelvaultd migrate`: brings a stopped vault to the current data format
// in place (format 1 → 2 puts every record behind the storage barrier, 2 → 3
// gives every certificate identity its kind; each step is one LMDB write
// transaction, so a crash leaves a vault at one format or the next).
// `serve` does the same on start; this command lets an operator do it, and
// back up first, on their own schedule. Audited ("modelvaultd migrate").
#include <cstdio>

#include "crypto/master_key.h"
#include "server/commands.h"
#include "vault/vault.h"

namespace mvserver {
namespace {

int RunMigrate(const VaultLocation& location) {
  if (!mv::Vault::Exists(location.data_dir))
    return Fail("no vault in " + location.data_dir + "; nothing changed");
  DataDirLock lock;
  if (absl::Status s = lock.Acquire(location.data_dir, "migrating it"); !s.ok())
    return Fail(s);
  absl::StatusOr<mv::SecretKey> kek = LoadVaultKey(location);
  if (!kek.ok()) return Fail(kek.status());
  absl::StatusOr<mv::VaultOptions> at = VaultOptionsAt(location);
  if (!at.ok()) return Fail(at.status());
  mv::VaultOptions options = *std::move(at);
  options.collect_pending_on_open = false;  // change nothing else
  absl::StatusOr<std::unique_ptr<mv::Vault>> vault =
      mv::Vault::Open(options, *std::move(kek));
  if (!vault.ok()) return Fail(vault.status());
  std::printf("%s: data format %u\n",
              (*vault)->migrated_on_open() ? "migrated" : "already at",
              mv::Vault::kDataFormat);
  return 0;
}

}  // namespace

void SetupMigrateCommand(CLI::App& app, int* exit_code) {
  auto location = std::make_shared<VaultLocation>();
  CLI::App* cmd = app.add_subcommand(
      "migrate", "Bring a stopped vault to this modelvaultd's data format");
  AddVaultLocationOptions(cmd, location.get());
  AddWitnessOption(cmd, location.get());
  cmd->callback([location, exit_code] { *exit_code = RunMigrate(*location); });
}

}  // namespace mvserver
