#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>

#include "audit/witness.h"
#include "crypto/master_key.h"
#include "server/commands.h"

namespace mvserver {

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);
}

absl::Status DataDirLock::Acquire(const std::string& dir,
                                  const std::string& doing) {
  const std::string path = dir + "/modelvaultd.lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) return absl::OkStatus();  // no data dir: Open explains
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError("a modelvaultd is serving " + dir +
                                         "; stop it before " + doing);
  }
  return absl::OkStatus();
}

void AddVaultLocationOptions(CLI::App* command, VaultLocation* location,
                             bool key_file_required) {
  command
      ->add_option("--data-dir", location->data_dir,
                   "Vault data directory (LMDB)")
      ->required();
  CLI::Option* key_file = command->add_option(
      "--master-key-file", location->master_key_file,
      key_file_required
          ? "File holding the 32-byte master key (mode 0600)"
          : "File holding the 32-byte master key (mode 0600); not for a "
            "vault sealed by unseal keys (--key-shares)");
  if (key_file_required) key_file->required();
  command
      ->add_option("--map-size-mib", location->map_size_mib,
                   "LMDB map size in MiB: the most the vault can hold (grow by "
                   "restarting larger)")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 30));
}

void AddWitnessOption(CLI::App* command, VaultLocation* location) {
  command->add_option(
      "--audit-witness", location->audit_witness,
      "File outside the data dir that receives every signed audit checkpoint, "
      "so a restored older data dir is refused (default: "
      "<data-dir>.audit-witness)");
}

absl::StatusOr<mv::VaultOptions> VaultOptionsAt(const VaultLocation& location) {
  mv::VaultOptions options;
  options.data_dir = location.data_dir;
  options.map_size = location.map_size_mib << 20;
  options.audit.witness_path = location.audit_witness.empty()
                                   ? mv::DefaultWitnessPath(location.data_dir)
                                   : location.audit_witness;
  if (absl::Status s = mv::CheckWitnessOutside(options.audit.witness_path,
                                               location.data_dir);
      !s.ok())
    return s;
  return options;
}

absl::StatusOr<mv::SecretKey> BeginOfflineChange(
    const VaultLocation& location, const std::string& root_token_file,
    const std::string& doing, DataDirLock* lock, mv::VaultOptions* options) {
  if (!mv::Vault::Exists(location.data_dir)) {
    return absl::FailedPreconditionError("no vault in " + location.data_dir +
                                         "; nothing changed");
  }
  if (absl::Status s = CheckRootTokenFileIsNew(root_token_file); !s.ok())
    return s;
  if (absl::Status s = lock->Acquire(location.data_dir, doing); !s.ok())
    return s;
  absl::StatusOr<mv::VaultOptions> at = VaultOptionsAt(location);
  if (!at.ok()) return at.status();
  *options = *std::move(at);
  return mv::LoadMasterKeyFile(location.master_key_file);
}

absl::Status CheckRootTokenFileIsNew(const std::string& file) {
  if (file.empty() || access(file.c_str(), F_OK) != 0) return absl::OkStatus();
  return absl::FailedPreconditionError("root token file " + file +
                                       " already exists; nothing changed");
}

int ShowRootToken(const std::string& token, const std::string& file) {
  if (file.empty()) {
    std::fprintf(
        stderr, "modelvaultd: new root token (shown once; store it safely):\n");
    std::printf("%s\n", token.c_str());
    return 0;
  }
  if (absl::Status written = mv::WriteSecretFile(file, token + "\n");
      !written.ok())
    return Fail(written);
  std::fprintf(stderr,
               "modelvaultd: new root token written to %s (mode 0600)\n",
               file.c_str());
  return 0;
}

int Fail(const std::string& message) {
  std::fprintf(stderr, "modelvaultd: %s\n", message.c_str());
  return 1;
}

int Fail(const absl::Status& status) {
  return Fail(std::string(status.message()));
}

}  // namespace mvserver
