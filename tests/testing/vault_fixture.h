// VaultTest: a GoogleTest fixture holding a real vault in a temp data dir,
// keyed by a fixed master key and driven by a FakeClock, with helpers to
// upload, download and (with the vault closed) edit the raw LMDB databases.
#ifndef MODELVAULT_TESTS_TESTING_VAULT_FIXTURE_H_
#define MODELVAULT_TESTS_TESTING_VAULT_FIXTURE_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "storage/lmdb_env.h"
#include "testing/temp_dir.h"
#include "vault/vault.h"

namespace mvtesting {

// Everything a download produced: the bytes delivered before it ended and
// the status that ended it (OK once Next() returned false).
struct Download {
  absl::Status status;
  std::string bytes;
  std::string delivered_sha256;  // only when status is OK
};

// Drains `reader` until it ends or fails.
Download Drain(mv::ArtifactReader& reader);

// The stored chunk keys, grouped: version_id → chunk indexes in key order.
struct ChunkKey {
  uint64_t version_id, index;
};

class VaultTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kChunk = 4096;

  VaultTest();
  void SetUp() override;  // Init + Open

  mv::VaultOptions Options() const;
  mv::SecretKey Kek() const;
  absl::StatusOr<std::unique_ptr<mv::Vault>> OpenVault();
  void Reopen();  // closes and opens vault_ (ASSERTs)
  void CloseVault() { vault_.reset(); }

  // Uploads `data` in pieces of the given sizes (cycled), commits with the
  // right digest. Returns the commit result.
  absl::StatusOr<mv::VersionInfo> Upload(const std::string& name,
                                         const std::string& data,
                                         std::vector<size_t> pieces = {1000, 1,
                                                                       4097});
  absl::StatusOr<mv::VersionInfo> Upload(const mv::UploadSpec& spec,
                                         const std::string& data,
                                         std::vector<size_t> pieces = {1000, 1,
                                                                       4097});
  // Opens and drains a download; a failure to open is the Download's status.
  Download Fetch(const std::string& ref, uint64_t offset = 0,
                 uint64_t length = 0);

  // With the vault closed: runs fn in one write transaction over the
  // databases (names from Dbs::kNames), as someone holding the master key
  // would: values pass the storage barrier (opened on read, sealed on
  // write), so a test can store records that are authentic but wrong.
  absl::Status EditRaw(
      const std::function<absl::Status(mv::LmdbEnv&, mv::WriteTxn&)>& fn);
  // The same, with `through_barrier` false: the bytes as stored, as a
  // writer of the data file without the key sees them.
  absl::Status EditStored(
      const std::function<absl::Status(mv::LmdbEnv&, mv::WriteTxn&)>& fn,
      bool through_barrier);
  // With the vault closed: its stored vault id and key store (nullptr when
  // it has no key file: formats before 4).
  std::string StoredVaultId();
  std::unique_ptr<mv::KeyStore> OpenKeyStore();
  std::unique_ptr<mv::KeyStore> OpenKeyStore(const std::string& vault_id);
  // With the vault closed: rewrites it as data format 3 stored it: every
  // value behind the layout-1 barrier, data keys in the version records and
  // named keys wrapped by the master key, no key file.
  void LowerToFormat3();
  // With the vault closed: rewrites it as data format 2 stored it:
  // LowerToFormat3, then certificate identities without their kind (index
  // and principals). The next Open migrates it.
  void LowerToFormat2();
  // With the vault closed: rewrites it as data format 1 stored it (before
  // the storage barrier): what LowerToFormat2 does, then every value in
  // clear, format 1 in clear, the v1 key check value, no vault id.
  void LowerToFormat1();
  // With the vault closed: every key of `db` (raw bytes) and value (opened,
  // as EditRaw sees it).
  std::vector<std::pair<std::string, std::string>> DumpRaw(const char* db);
  std::vector<ChunkKey> StoredChunks();

  // Identity helpers (EXPECT on failure). A policy allowing `actions` (JSON
  // array text, e.g. R"(["read","list"])") on the artifact globs `globs`.
  static std::string AllowJson(const std::string& globs,
                               const std::string& actions);
  void PutPolicy(const std::string& name, const std::string& json);
  // Creates principal `name` with `policies` and returns a fresh token.
  std::string AddPrincipal(const std::string& name,
                           std::vector<std::string> policies,
                           const std::string& cert_identity = "");
  absl::StatusOr<mv::Principal> Login(const std::string& token) {
    return vault_->identity().Authenticate("Bearer " + token);
  }
  // AddPrincipal, then Login with its token (EXPECTs success).
  mv::Principal Principal(const std::string& name,
                          std::vector<std::string> policies);

  TempDir dir_;
  mv::AuditLog::Options
      audit_options_;  // the vault's audit settings (Options())
  // Off: the tests fail authentication at will from one (empty) address;
  // the throttle's own tests turn it on.
  mv::AuthThrottleLimits auth_throttle_{.burst = 0, .per_minute = 1};
  std::string kek_raw_;
  mv::FakeClock clock_;
  std::string root_token_;
  std::unique_ptr<mv::Vault> vault_;
  mv::Principal root_ = mv::RootCaller();
};

}  // namespace mvtesting

#endif  // MODELVAULT_TESTS_TESTING_VAULT_FIXTURE_H_
