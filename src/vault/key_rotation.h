// KeyRotation: online key rotation (issue [keys]). Rotate adds a keyring
// version, which new writes use at once; a background job then moves
// everything still under an older version onto the current one, while
// pushes and pulls go on:
//
//   1. every data key in the key file is rewrapped (KeyStore::Rewrap),
//      in batches of kDataKeyBatch with two syncs each;
//   2. every barrier-sealed record under an older version is opened and
//      sealed again, in write transactions of at most kRecordBatch records
//      (storage/barrier.h: the version is in each sealed value, so the job
//      skips what is done);
//   3. the named keys in meta are rewrapped;
//   4. a version nothing uses any more is retired: removed from the keyring
//      and its generation erased from the key file, on record.
//
// The job keeps no cursor: after a crash, Resume (run when a vault opens
// for serving) starts it again and it finds only what is left. The audit
// log's records are resealed like any other; their chain hashes cover the
// plaintext, so the chain is unchanged.
//
// Thread-safe. The job runs on one thread of its own, stopped by Stop() or
// the destructor.
#ifndef MODELVAULT_VAULT_KEY_ROTATION_H_
#define MODELVAULT_VAULT_KEY_ROTATION_H_

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "audit/audit_log.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "storage/lmdb_env.h"
#include "vault/key_store.h"

namespace mv {

// How much one keyring version protects.
struct KeyVersionUse {
  uint32_t version = 0;
  int64_t created_unix_ms = 0;
  bool current = false;
  uint64_t records = 0;     // barrier-sealed records
  uint64_t data_keys = 0;   // versions' data keys in the key file
  uint64_t named_keys = 0;  // the token key, audit signing seed, K_fp
  uint64_t total() const { return records + data_keys + named_keys; }
};

struct KeyRotationStatus {
  std::vector<KeyVersionUse> versions;  // ascending
  bool running = false;
  uint64_t rewrapped_data_keys = 0;  // by the job since the vault opened
  uint64_t resealed_records = 0;
  std::vector<uint32_t> retired;  // since the vault opened
  std::string last_error;         // "" when the last run succeeded
};

class KeyRotation {
 public:
  static constexpr size_t kDataKeyBatch = 256;
  static constexpr size_t kRecordBatch = 512;

  KeyRotation(LmdbEnv& env, KeyStore& keys, AuditLog& audit, Clock* clock)
      : env_(env), keys_(keys), audit_(audit), clock_(clock) {}
  ~KeyRotation() { Stop(); }

  // Adds a keyring version, records `audit` (nullptr = none) and starts the
  // job. Returns the new version. If the record cannot be written the call
  // fails UNAVAILABLE; the new version stays (it protects nothing an older
  // one did not) and the next rotation or restart carries on.
  absl::StatusOr<uint32_t> Rotate(const AuditRecord* audit);
  // Starts the job on its thread if it is not running.
  void Resume();
  // Runs the job to the end on the calling thread: until nothing is under
  // an older version and every unused version is retired.
  absl::Status RunToCompletion();
  // Asks a running job to stop after its current batch, and joins it.
  void Stop();
  // Counts what each version protects (a read transaction and a pass over
  // the key file), with the job's progress.
  absl::StatusOr<KeyRotationStatus> Status() const;

 private:
  absl::Status RewrapDataKeys();
  absl::Status ResealRecords(const char* db);
  absl::Status RewrapNamedKeys();
  absl::Status RetireUnused();
  absl::StatusOr<std::vector<KeyVersionUse>> Usage() const;
  bool stopping() const;

  LmdbEnv& env_;
  KeyStore& keys_;
  AuditLog& audit_;
  Clock* const clock_;
  Mutex run_mu_;  // one RunToCompletion at a time
  mutable Mutex mu_;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t rewrapped_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t resealed_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<uint32_t> retired_ ABSL_GUARDED_BY(mu_);
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_KEY_ROTATION_H_
