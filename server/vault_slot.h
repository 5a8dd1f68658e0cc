// VaultSlot: the vault a running server serves — or its absence while the
// vault is sealed (issue #17, "Sealed vaults with unseal shares").
//
// A vault initialised with --key-shares keeps no master key on disk; the
// server starts sealed and every call but OperatorService.Unseal/SealStatus
// is refused by Acquire() with UNAVAILABLE "vault is sealed (K of M unseal
// keys given)". Unseal() collects shares (crypto/unseal_shares.h) until the
// threshold, combines them, checks the vault tag and opens the vault (whose
// key check value refuses a wrong key). Seal() drops the slot's reference;
// each call holds its own std::shared_ptr from Acquire(), so in-flight calls
// finish on the vault they started with, and when the last one ends the
// Vault is destroyed: its audit log writes a final checkpoint and every
// SecretKey it held is wiped (sodium_free). Unseal refuses to open the vault
// again until that has happened (LMDB must not be opened twice).
//
// A vault with a key file is held in a slot made by Unsealed(): always
// unsealed; Seal() is FAILED_PRECONDITION.
//
// While sealed there is no audit log: refused unseal attempts are written to
// stderr at once (never the share) and kept in memory (at most
// kMaxPendingFailures, then counted), and committed to the audit log as
// records of OperatorService.Unseal when the vault opens.
//
// Unseal attempts that fail (malformed share, another vault's share, keys
// that combine to a wrong key) are charged to the caller's address: each
// address may fail `failure_burst` times and earns one failure back every
// `failure_refill`; beyond that every Unseal from it is RESOURCE_EXHAUSTED
// without looking at the share. Shares given are discarded when the
// threshold is not reached within `progress_timeout` of the first.
//
// Thread-safe. Hooks run on the thread of the Unseal/Seal call, with the
// operation lock held (so unseal and seal hooks never overlap).
#ifndef MODELVAULT_SERVER_VAULT_SLOT_H_
#define MODELVAULT_SERVER_VAULT_SLOT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "crypto/unseal_shares.h"
#include "vault/vault.h"

namespace mvserver {

// What SealStatus answers.
struct SealProgress {
  bool sealed = false;
  bool by_shares = false;  // false: a key-file vault
  uint32_t threshold = 0, shares = 0;
  uint32_t given = 0;  // shares given toward the threshold
  absl::Time expires = absl::InfinitePast();  // of those shares; none: past
};

class VaultSlot {
 public:
  static constexpr size_t kMaxPendingFailures = 1000;
  static constexpr size_t kMaxTrackedAddresses = 10000;
  // The audited method of unseal attempts.
  static constexpr char kUnsealMethod[] =
      "/modelvault.v1.OperatorService/Unseal";

  struct Settings {
    absl::Duration progress_timeout = absl::Minutes(10);
    uint32_t failure_burst = 5;
    absl::Duration failure_refill = absl::Minutes(1);
    const mv::Clock* clock = mv::Clock::Real();
  };
  // Opens the vault with the combined key (Vault::Open with the server's
  // options); FAILED_PRECONDITION means a wrong key.
  using Opener = std::function<absl::StatusOr<std::unique_ptr<mv::Vault>>(
      mv::SecretKey kek)>;
  struct Hooks {
    // After the vault opened (start housekeeping, health SERVING).
    std::function<void(const std::shared_ptr<mv::Vault>&)> unsealed;
    // Before the slot drops the vault (health NOT_SERVING, stop
    // housekeeping and followers).
    std::function<void()> sealing;
  };

  // A slot that always serves `vault` (a key-file vault).
  static std::unique_ptr<VaultSlot> Unsealed(std::shared_ptr<mv::Vault> vault);
  // A sealed slot for a vault sealed by shares as `config` says.
  static std::unique_ptr<VaultSlot> Sealed(mv::SealConfig config, Opener open,
                                           Settings settings);
  ~VaultSlot();

  // REQUIRES: before the first Unseal/Seal.
  void SetHooks(Hooks hooks);

  // The vault for one call, or UNAVAILABLE "vault is sealed (K of M unseal
  // keys given)".
  absl::StatusOr<std::shared_ptr<mv::Vault>> Acquire() const;
  SealProgress Progress() const;
  // True from Seal() until its vault is destroyed (every call holding it
  // ended and ~Vault returned).
  bool Sealing() const;

  // Gives one share from `peer_ip` (a bare IP or ""; the audit's `peer` is
  // `peer`). Errors: RESOURCE_EXHAUSTED (rate limited), INVALID_ARGUMENT
  // (not a share, checksum, another vault's share, a share given twice, or
  // keys that combine to a wrong key — progress reset), UNAVAILABLE (the
  // previous vault is still closing), FAILED_PRECONDITION when the key is
  // right but the vault does not open (the reason goes to stderr only;
  // progress reset). Unsealed already: the progress, OK.
  absl::StatusOr<SealProgress> Unseal(std::string_view share,
                                      std::string_view peer_ip,
                                      std::string_view peer);
  // Discards the shares given so far.
  SealProgress ResetProgress();
  // Seals: FAILED_PRECONDITION for a key-file vault or one already sealed.
  absl::Status Seal();

 private:
  struct Failure {
    absl::Time time;
    std::string peer, reason;
  };
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  VaultSlot() = default;
  // Progress under mu_.
  SealProgress ProgressLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireLocked(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ClearSharesLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Rate limit of failures per address.
  bool MayTryLocked(const std::string& address, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Notes a refused attempt (stderr, memory, the address's allowance) and
  // returns `status`.
  absl::Status FailLocked(absl::Status status, std::string_view peer_ip,
                          std::string_view peer, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Combines the shares, opens the vault; on success installs it.
  absl::StatusOr<std::shared_ptr<mv::Vault>> OpenLocked(
      std::string_view peer_ip, std::string_view peer, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits (at most 2 s) for the vault a Seal dropped to be destroyed.
  void WaitForPreviousToClose();
  // Writes the failures noted while sealed to the vault's audit log.
  void AuditFailures(mv::Vault& vault, std::vector<Failure> failures,
                     uint64_t dropped, std::string_view peer);

  bool by_shares_ = false;
  mv::SealConfig config_;
  Opener open_;
  Settings settings_;
  Hooks hooks_;

  mv::Mutex op_mu_;  // serialises Unseal and Seal (and their hooks)
  mutable mv::Mutex mu_;
  std::shared_ptr<mv::Vault> vault_ ABSL_GUARDED_BY(mu_);
  // Set by the deleter of the vault's shared_ptr once ~Vault has returned
  // (a weak_ptr expires when destruction starts, while the audit log still
  // writes its final checkpoint and LMDB is still open): this one's, and the
  // one Seal dropped.
  std::shared_ptr<std::atomic<bool>> closed_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<std::atomic<bool>> previous_closed_ ABSL_GUARDED_BY(mu_);
  // Mutable: an expired progress is discarded by whichever call sees it.
  mutable std::vector<mv::UnsealShare> given_ ABSL_GUARDED_BY(mu_);
  absl::Time first_given_ ABSL_GUARDED_BY(mu_);
  std::vector<Failure> failures_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_failures_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_VAULT_SLOT_H_
