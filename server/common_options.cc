#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>

#include "audit/witness.h"
#include "crypto/master_key.h"
#include "crypto/unseal_shares.h"
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
                             bool offline) {
  command
      ->add_option("--data-dir", location->data_dir,
                   "Vault data directory (LMDB)")
      ->required();
  command->add_option("--master-key-file", location->master_key_file,
                      "File holding the 32-byte master key (mode 0600); not "
                      "for a vault sealed by unseal keys (--key-shares)");
  if (offline) {
    command->add_flag("--unseal-keys-stdin", location->unseal_keys_stdin,
                      "Vault sealed by unseal keys: read them from stdin, one "
                      "per line, until the threshold (instead of "
                      "--master-key-file)");
  }
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
  return LoadVaultKey(location);
}

namespace {

// Up to `threshold` valid unseal keys of the vault `config` names, one per
// line of stdin (blank lines skipped); each line is wiped once parsed.
absl::StatusOr<std::vector<mv::UnsealShare>> ReadUnsealKeys(
    const mv::SealConfig& config) {
  std::vector<mv::UnsealShare> shares;
  std::string line;
  int c = 0;
  while (shares.size() < config.threshold && c != EOF) {
    line.clear();
    while ((c = std::getchar()) != EOF && c != '\n' && line.size() < 4096)
      line.push_back(static_cast<char>(c));
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    absl::StatusOr<mv::UnsealShare> share = mv::ParseShare(line);
    sodium_memzero(line.data(), line.size());
    if (!share.ok()) return share.status();
    if (share->tag != config.tag) {
      return absl::InvalidArgumentError(
          "an unseal key on stdin belongs to another vault");
    }
    shares.push_back(*std::move(share));
  }
  if (shares.size() < config.threshold) {
    return absl::InvalidArgumentError(
        "stdin held " + std::to_string(shares.size()) + " unseal keys; " +
        std::to_string(config.threshold) + " are needed");
  }
  return shares;
}

}  // namespace

absl::StatusOr<mv::SecretKey> LoadVaultKey(const VaultLocation& location) {
  absl::StatusOr<mv::SealConfig> seal = mv::ReadSealConfig(location.data_dir);
  if (absl::IsNotFound(seal.status())) {
    if (location.unseal_keys_stdin) {
      return absl::InvalidArgumentError(
          "this vault is not sealed by unseal keys: give --master-key-file, "
          "not --unseal-keys-stdin");
    }
    if (location.master_key_file.empty())
      return absl::InvalidArgumentError("--master-key-file is required");
    return mv::LoadMasterKeyFile(location.master_key_file);
  }
  if (!seal.ok()) return seal.status();
  if (!location.unseal_keys_stdin || !location.master_key_file.empty()) {
    return absl::InvalidArgumentError(
        "this vault is sealed by unseal keys and has no master key file: "
        "give " +
        std::to_string(seal->threshold) +
        " of them on stdin, one per line, with --unseal-keys-stdin");
  }
  absl::StatusOr<std::vector<mv::UnsealShare>> shares = ReadUnsealKeys(*seal);
  if (!shares.ok()) return shares.status();
  absl::StatusOr<mv::SecretKey> kek = mv::CombineShares(*shares);
  if (!kek.ok()) return kek.status();
  const std::string tag = mv::ShareTag(*kek);
  if (sodium_memcmp(tag.data(), seal->tag.data(), tag.size()) != 0 ||
      tag.size() != seal->tag.size()) {
    return absl::InvalidArgumentError(
        "the unseal keys given do not combine to this vault's key (one of "
        "them is wrong or from another split)");
  }
  return kek;
}

std::string UnsealKeyFileName(const std::string& prefix, uint32_t i) {
  return prefix + "." + std::to_string(i);
}

int ShowUnsealKeys(const std::string& files_prefix, uint32_t threshold,
                   std::vector<std::string> shares) {
  int code = 0;
  if (files_prefix.empty()) {
    std::fprintf(stderr,
                 "modelvaultd: %zu unseal keys (shown once; give each to a "
                 "different operator — any %u of them unseal the vault):\n",
                 shares.size(), threshold);
    for (const std::string& share : shares) std::printf("%s\n", share.c_str());
  } else {
    for (uint32_t i = 1; i <= shares.size(); ++i) {
      const std::string file = UnsealKeyFileName(files_prefix, i);
      if (absl::Status s = mv::WriteSecretFile(file, shares[i - 1] + "\n");
          !s.ok()) {
        code = Fail(s);
        continue;
      }
      std::fprintf(stderr,
                   "modelvaultd: unseal key %u written to %s (mode 0600)\n", i,
                   file.c_str());
    }
  }
  std::fflush(stdout);
  for (std::string& share : shares) sodium_memzero(share.data(), share.size());
  return code;
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
