// Vault: the core façade. Every use case of modelvault — initialise, open,
// authenticate, upload, download, inspect, list, delete, alias — is one
// method here; the gRPC layer only adapts streams and statuses to it.
//
// Storage layout: vault/records.h. Chunk encryption: crypto/chunk_cipher.h.
//
// Thread safety: a Vault is thread-safe; many uploads and downloads may run
// at once. An ArtifactWriter or ArtifactReader is used by one thread at a time
// (each runs one helper thread of its own to overlap stages).
#ifndef MODELVAULT_VAULT_VAULT_H_
#define MODELVAULT_VAULT_VAULT_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "crypto/key_ring.h"
#include "crypto/token.h"
#include "storage/lmdb_env.h"
#include "vault/artifact_io.h"
#include "vault/records.h"

namespace mv {

struct VaultOptions {
  std::string data_dir;
  size_t map_size = size_t{64} << 30;  // LMDB map; grow it by reopening larger
  uint32_t chunk_size = 1 << 20;       // plaintext bytes per stored chunk
  absl::Duration pending_ttl = absl::Hours(1);  // idle uploads older are collected
  Clock* clock = Clock::Real();
  // The serving process owns every pending upload, so it collects them all
  // on open; an inspecting process (verify) must not touch a live server's.
  bool collect_pending_on_open = true;
};

// What Vault::Verify found. `problems` is empty when everything is whole.
struct VerifyReport {
  uint64_t versions = 0, chunks = 0, bytes = 0;
  std::vector<std::string> problems;  // one line each, naming the version
};

struct Principal {
  std::string name;
  std::string token_accessor;
};

struct VersionPage {
  std::vector<VersionInfo> versions;
  std::string next_page_token;  // "" = no more
};

class Vault {
 public:
  static constexpr uint32_t kDataFormat = 1;

  // True if `data_dir` already holds a vault (or any LMDB data file).
  static bool Exists(const std::string& data_dir);
  // Creates the data dir (mode 0700) and a new vault keyed by `kek`; returns
  // the root token, which is stored only as a keyed hash. ALREADY_EXISTS if
  // a vault is there (nothing is changed).
  static absl::StatusOr<std::string> Init(const VaultOptions& options, SecretKey kek);
  // Opens an initialised vault. FAILED_PRECONDITION for a wrong key, an
  // unknown future format or a directory that is not a vault; collects every
  // pending upload left by a previous process.
  static absl::StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& options, SecretKey kek);

  // `authorization` is the raw metadata value ("Bearer mvt_..."). Every
  // failure is UNAUTHENTICATED with kUnauthenticatedMessage.
  absl::StatusOr<Principal> Authenticate(std::string_view authorization) const;

  absl::StatusOr<std::unique_ptr<ArtifactWriter>> BeginUpload(const UploadSpec& spec,
                                                              const Principal& who);
  // length 0 = to the end. OUT_OF_RANGE if the range exceeds the version.
  absl::StatusOr<std::unique_ptr<ArtifactReader>> OpenDownload(std::string_view ref,
                                                               uint64_t offset,
                                                               uint64_t length) const;
  absl::StatusOr<VersionInfo> GetVersion(std::string_view ref) const;
  // `prefix` is a plain name prefix; page_size 0 → 100, capped at 1000.
  absl::StatusOr<VersionPage> ListVersions(std::string_view prefix, uint32_t page_size,
                                           std::string_view page_token) const;
  // Destroys the version's wrapped data key first (crypto-shredding) and
  // then frees its chunks.
  absl::StatusOr<VersionInfo> DeleteVersion(std::string_view ref);
  absl::StatusOr<VersionInfo> SetAlias(std::string_view ref, std::string_view alias);
  absl::Status DeleteAlias(std::string_view name, std::string_view alias);

  // Reads back every chunk of every version (authenticating and hashing it)
  // and cross-checks the catalog: digests, chunk counts, aliases and
  // chunks that belong to no version or pending upload. Read-only.
  absl::StatusOr<VerifyReport> Verify() const;

  // Frees the chunks of uploads idle longer than `idle` and of deleted
  // versions. Returns how many uploads/versions were collected.
  absl::StatusOr<size_t> CollectGarbage(absl::Duration idle);

  const VaultOptions& options() const { return options_; }

 private:
  Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env, KeyRing keys, TokenHasher tokens);
  static absl::StatusOr<std::unique_ptr<LmdbEnv>> OpenEnv(const VaultOptions& options);

  VaultOptions options_;
  std::unique_ptr<LmdbEnv> env_;
  KeyRing keys_;
  TokenHasher tokens_;
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_H_
