// modelvaultd's subcommands, one file each (CLI11 "subcommand in files"):
// an options struct, a Setup…Command that binds it, a Run… that does it.
// Run… return the process exit code, which the callback stores in *exit_code.
#ifndef MODELVAULT_SERVER_COMMANDS_H_
#define MODELVAULT_SERVER_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "vault/vault.h"

namespace mvserver {

// Options every command that opens the vault shares.
struct VaultLocation {
  std::string data_dir;
  std::string master_key_file;
  uint64_t map_size_mib = 64 * 1024;
  std::string audit_witness;  // "" = beside the data dir (audit/witness.h)
  // Offline commands on a vault sealed by unseal keys: read M of them from
  // stdin, one per line, instead of --master-key-file.
  bool unseal_keys_stdin = false;
};
// `offline` (verify, root-token, migrate, regenerate-key): also
// --unseal-keys-stdin; LoadVaultKey() then checks which one the vault needs.
// serve and init pass false and check --master-key-file themselves.
void AddVaultLocationOptions(CLI::App* command, VaultLocation* location,
                             bool offline = true);
// The KEK of the vault at `location` for an offline command: from
// --master-key-file for a key-file vault, else combined from the unseal keys
// on stdin (--unseal-keys-stdin; lines until the threshold of valid keys).
// INVALID_ARGUMENT naming the flag the vault needs, a key of another vault,
// too few keys or keys that combine to a wrong key; the key check value is
// Vault::Open's to prove.
absl::StatusOr<mv::SecretKey> LoadVaultKey(const VaultLocation& location);
// --audit-witness, for the commands that open the vault's audit log.
void AddWitnessOption(CLI::App* command, VaultLocation* location);
// The vault options of `location` (data dir, map size, witness), defaults
// otherwise. INVALID_ARGUMENT if the witness is inside the data dir.
absl::StatusOr<mv::VaultOptions> VaultOptionsAt(const VaultLocation& location);

void SetupInitCommand(CLI::App& app, int* exit_code);
void SetupServeCommand(CLI::App& app, int* exit_code);
void SetupVerifyCommand(CLI::App& app, int* exit_code);
void SetupRootTokenCommand(CLI::App& app, int* exit_code);

void SetupMigrateCommand(CLI::App& app, int* exit_code);
void SetupRegenerateKeyCommand(CLI::App& app, int* exit_code);
void SetupRekeyCommand(CLI::App& app, int* exit_code);

// Holds DIR/modelvaultd.lock (the lock `serve` takes) until destroyed, so
// that an offline command refuses to run beside a server.
class DataDirLock {
 public:
  DataDirLock() = default;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();
  // FAILED_PRECONDITION "a modelvaultd is serving DIR; stop it before
  // <doing>" if a server holds the lock. OK without a data dir (the caller's
  // open then explains).
  absl::Status Acquire(const std::string& dir, const std::string& doing);

 private:
  int fd_ = -1;
};

// The start of an offline command that changes a stopped vault: the vault
// exists, `root_token_file` (if any) is new, the data dir's lock is taken
// (`doing` names the command in the refusal), and the vault options and the
// master key are loaded. The error is the one line to Fail() with.
absl::StatusOr<mv::SecretKey> BeginOfflineChange(
    const VaultLocation& location, const std::string& root_token_file,
    const std::string& doing, DataDirLock* lock, mv::VaultOptions* options);

// FAILED_PRECONDITION if `file` is given and exists: a new root token is
// written only to a new file, before anything changes.
absl::Status CheckRootTokenFileIsNew(const std::string& file);
// Writes a new root token to `file` (mode 0600), or shows it once on stdout
// when `file` is "". Returns the exit code.
int ShowRootToken(const std::string& token, const std::string& file);

// PREFIX.i, the file of unseal key i.
std::string UnsealKeyFileName(const std::string& prefix, uint32_t i);
// Shows unseal keys once (stdout, one per line) when `files_prefix` is "",
// or writes key i to PREFIX.i (mode 0600, never over a file); then wipes
// them. Returns the exit code.
int ShowUnsealKeys(const std::string& files_prefix, uint32_t threshold,
                   std::vector<std::string> shares);

// Prints "modelvaultd: <message>" on stderr (one line) and returns 1.
int Fail(const std::string& message);
int Fail(const absl::Status& status);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_COMMANDS_H_
