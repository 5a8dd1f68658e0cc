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
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "access/auth_throttle.h"
#include "access/policy.h"
#include "audit/audit_log.h"
#include "common/clock.h"
#include "common/memory_budget.h"
#include "crypto/key_ring.h"
#include "crypto/token.h"
#include "storage/lmdb_env.h"
#include "trace/detect.h"
#include "trace/leak_file.h"
#include "vault/artifact_io.h"
#include "vault/identity.h"
#include "vault/records.h"

namespace mv {

// The vault-wide secrets `modelvaultd regenerate-key` may replace when they
// are missing or do not open (vault/vault_keys.h).
enum class VaultKey { kFingerprint, kToken, kKeyCheck };
std::string_view VaultKeyName(VaultKey key);  // "fingerprint", "token", …
std::optional<VaultKey> ParseVaultKey(std::string_view name);

struct VaultOptions {
  std::string data_dir;
  size_t map_size = size_t{64} << 30;  // LMDB map; grow it by reopening larger
  uint32_t chunk_size = 1 << 20;       // plaintext bytes per stored chunk
  absl::Duration pending_ttl =
      absl::Hours(1);  // idle uploads older are collected
  Clock* clock = Clock::Real();
  // The serving process owns every pending upload, so it collects them all
  // on open; an inspecting process (verify) must not touch a live server's.
  bool collect_pending_on_open = true;
  // Whether Open may migrate a vault of an older format in place (one write
  // transaction); an inspecting process (verify) must not.
  bool migrate = true;
  // The audit log's settings (audit/audit_log.h): checkpoint cadence, the
  // witness file, the fault seam. Its clock is replaced by `clock`.
  AuditLog::Options audit;
  // Failed authentications allowed per client address
  // (access/auth_throttle.h).
  AuthThrottleLimits auth_throttle;
  // Memory all uploads together may hold for model headers being collected
  // and parsed (ChunkUpload::kHeaderCostFactor per header byte).
  uint64_t header_memory_bytes = uint64_t{96} << 20;
};

// What Vault::Verify found. `problems` is empty when everything is whole.
struct VerifyReport {
  uint64_t versions = 0, chunks = 0, bytes = 0;
  uint64_t audit_records = 0;
  std::vector<std::string> problems;  // one line each, naming the version
};

// One download in the downloads index (records.h, db `downloads`): what
// tracing scores and what a resumed range request must match.
struct DownloadRecord {
  uint64_t serial = 0;  // VersionInfo::serial
  uint64_t download_id = 0;
  std::string principal;
  int64_t started_unix_ms = 0;
  std::string peer;  // as in the audit record
  Delivery delivery = Delivery::kUnmarked;
  uint64_t audit_sequence = 0;   // the "download started" record (0 = none)
  std::string delivered_sha256;  // 32 raw bytes once a whole-file delivery
                                 // completed (Vault::FinishDownload), else ""
  bool operator==(const DownloadRecord&) const = default;
};

// A candidate download of a trace, with what the index says about it.
struct TracedDownload {
  CandidateScore score;
  DownloadRecord download;
};

// Vault::TraceLeak's findings (LEAK_TRACING.md, "Detection").
struct LeakReport {
  std::string leak_sha256;  // 32 raw bytes
  uint64_t leak_size = 0;
  std::string artifact;            // "NAME@N" traced against
  FingerprintSummary fingerprint;  // that version's (its table's sizes)
  // How the version was found: "as told", "exact copy of the original",
  // "exact copy of download <hex id>" (tier 0), "tensor names and shapes".
  std::string matched_by;
  Verdict verdict = Verdict::kNone;
  TraceResult result;  // mode, votes, decoys, abstention
  std::vector<TracedDownload>
      candidates;               // every attributed/suspect one plus the
                                // top 10 by Z, sorted by Z descending
  size_t downloads_scored = 0;  // J: logged downloads of the version
  // Tier 0 "exact copy of the original" only: the version's unmarked and
  // exact downloads (any of which may be the source), else 0.
  size_t original_downloads = 0;
  struct TensorFinding {
    std::string name;
    uint64_t positions = 0;  // Tardos positions of this tensor in the table
    uint64_t present = 0;    // of which the leak has
    TraceMode mode = TraceMode::kNoData;
  };
  std::vector<TensorFinding> tensors;
  int64_t generated_unix_ms = 0;
};

// Which artifacts a trace may look at (Vault::TraceScopeFor).
struct TraceScope {
  std::function<bool(std::string_view artifact_name)> allows;
};

struct VersionPage {
  std::vector<VersionInfo> versions;
  std::string next_page_token;  // "" = no more
};

class Vault {
 public:
  // 2: every value behind the storage barrier (storage/barrier.h); 3: every
  // certificate identity names its kind ("uri:…", "cn:…"). Older vaults are
  // migrated by Open, step by step, when VaultOptions::migrate.
  static constexpr uint32_t kDataFormat = 3;

  // True if `data_dir` already holds a vault (or any LMDB data file).
  static bool Exists(const std::string& data_dir);
  // Creates the data dir (mode 0700) and a new vault keyed by `kek`; returns
  // the root token, which is stored only as a keyed hash. ALREADY_EXISTS if
  // a vault is there (nothing is changed).
  static absl::StatusOr<std::string> Init(const VaultOptions& options,
                                          SecretKey kek);
  // Opens an initialised vault. FAILED_PRECONDITION for a wrong key, an
  // unknown future format or a directory that is not a vault; collects every
  // pending upload left by a previous process.
  static absl::StatusOr<std::unique_ptr<Vault>> Open(
      const VaultOptions& options, SecretKey kek);

  // Offline recovery (`modelvaultd root-token`): issues a new root token for
  // a closed vault. The caller must hold the data dir (no server running).
  static absl::StatusOr<std::string> IssueRootToken(const VaultOptions& options,
                                                    SecretKey kek);
  // Offline recovery (`modelvaultd regenerate-key`): replaces `key` of a
  // closed vault when it is missing from meta or does not open, in one write
  // transaction with its audit record; FAILED_PRECONDITION if it is intact.
  // kFingerprint: copies delivered before can no longer be traced. kToken:
  // every token is deleted (their hashes were keyed by the lost key) and a
  // new root token is issued and returned. kKeyCheck: nothing is lost (Open
  // proves the master key by opening the sealed format record). Returns ""
  // unless a root token was issued.
  static absl::StatusOr<std::string> RegenerateKey(const VaultOptions& options,
                                                   SecretKey kek, VaultKey key);

  // ---- Audit (audit/audit_log.h) ----
  // Every mutating method below takes the audit record of the request it
  // serves (`audit`, nullptr = none). The record is appended in the
  // mutation's own write transaction, so the change and its record commit
  // together or not at all: if the record cannot be written, nothing
  // changes and the method fails UNAVAILABLE (fail closed). The caller
  // fills the record as for a successful outcome (decision allowed, status
  // OK); the vault assigns sequence and time. Records of requests that
  // change nothing go through audit_log().Commit().
  AuditLog& audit_log() const { return *audit_; }

  // ---- Identity and access (vault/identity_store.cc, principals.cc,
  // tokens.cc, budgets.cc; decisions by access/policy.h) ----
  // Turns credentials into the caller. A bearer token must exist, be
  // unexpired, have uses left (one is consumed) and belong to a principal
  // that still exists; a certificate identity must map to a principal; if
  // both are given they must name the same principal. Every failure is
  // UNAUTHENTICATED with kUnauthenticatedMessage, until the client's address
  // has spent its allowance of failures (VaultOptions::auth_throttle): then
  // RESOURCE_EXHAUSTED "too many failed authentications from A; retry in N
  // s", which IsThrottled() recognises. Such a call is not audited on its
  // own but counted for AuditThrottledAuthentications.
  absl::StatusOr<Principal> Authenticate(const Credentials& credentials);
  // Shorthand for a bearer token alone.
  absl::StatusOr<Principal> Authenticate(std::string_view authorization);
  // Commits one audit record per client address whose failed
  // authentications were refused since the last call (decision
  // unauthenticated, status RESOURCE_EXHAUSTED, peer the address, reason
  // "rate limited: N failed authentications refused from T1 to T2 ...").
  // The server calls it every minute and at shutdown. Returns how many
  // records it wrote; UNAVAILABLE if one cannot be written (its counts are
  // kept for the next call).
  absl::StatusOr<size_t> AuditThrottledAuthentications();

  // Decides `request` for `who` (request.now defaults to the vault clock
  // when it is absl::InfinitePast() or the default absl::Time(), the Unix
  // epoch). PERMISSION_DENIED "permission denied: read on acme/x" (plus
  // " (denied by policy P rule N)" when a deny rule decided), never
  // revealing whether an artifact exists. On success the decision says
  // which allow rules matched, for ChargeDownload; its RuleRef::rule
  // pointers stay valid for the life of the Vault. Never parses JSON.
  absl::StatusOr<Decision> Authorize(const Principal& who,
                                     AccessRequest request) const;
  // PERMISSION_DENIED "permission denied: no policy allows trace on any
  // artifact" unless some policy of `who` might allow `action` somewhere
  // (MayAllowOnSomeArtifact): the check before a trace spools a file whose
  // version it has yet to find.
  absl::Status MayActOnSomeArtifact(const Principal& who, Action action) const;
  // True iff `who` may list `name` (for filtering ls results).
  bool MayList(const Principal& who, std::string_view name,
               std::string_view peer_address) const;
  // Charges one download of `bytes` to the daily budgets (UTC day) of the
  // rule that allowed it: no charge if some allowing rule has no budget;
  // else the first rule with room is charged; RESOURCE_EXHAUSTED naming the
  // budget if none has room ("daily download budget exhausted: policy P
  // rule N allows 20 downloads/day"), before anything is charged. Counters
  // live in LMDB and survive restarts.
  absl::Status ChargeDownload(const Principal& who, const Decision& decision,
                              uint64_t bytes,
                              const AuditRecord* audit = nullptr);

  // The admin use cases below act for `caller` and never let it escalate
  // (access/coverage.h): a policy may be attached, granted at creation,
  // issued in a token or written only if the caller's own rights cover
  // every allow rule it grants; lifting a deny rule (replacing a policy
  // without it, detaching a policy that holds it) needs the same cover as
  // granting what it denied. Only a root caller may touch a principal that
  // holds the root policy: attach to it, detach from it, mint or revoke its
  // tokens, delete it. Refusals are PERMISSION_DENIED naming the first
  // uncovered rule, checked in the write transaction that would commit.
  absl::StatusOr<PrincipalInfo> CreatePrincipal(
      const Principal& caller, PrincipalInfo info,
      const AuditRecord* audit = nullptr);
  std::vector<PrincipalInfo> ListPrincipals() const;  // sorted by name
  absl::StatusOr<PrincipalInfo> GetPrincipal(std::string_view name) const;
  // Deletes the principal and revokes its tokens; returns how many. The
  // root principal cannot be deleted.
  absl::StatusOr<uint32_t> DeletePrincipal(const Principal& caller,
                                           std::string_view name,
                                           const AuditRecord* audit = nullptr);
  absl::StatusOr<PrincipalInfo> AttachPolicy(
      const Principal& caller, std::string_view principal,
      std::string_view policy, const AuditRecord* audit = nullptr);
  absl::StatusOr<PrincipalInfo> DetachPolicy(
      const Principal& caller, std::string_view principal,
      std::string_view policy, const AuditRecord* audit = nullptr);

  absl::StatusOr<IssuedToken> CreateToken(const Principal& caller,
                                          const TokenSpec& spec,
                                          const AuditRecord* audit = nullptr);
  std::vector<TokenInfo> ListTokens(
      std::string_view principal) const;  // "" = all
  absl::StatusOr<TokenInfo> LookupToken(std::string_view accessor) const;
  // A root token can be revoked only while another principal may
  // admin:tokens (so the vault is never left without an administrator).
  absl::Status RevokeToken(const Principal& caller, std::string_view accessor,
                           const AuditRecord* audit = nullptr);

  // Validates (ParsePolicy) and stores the canonical document. The name
  // "root" is reserved; a glob that can match no artifact name (an
  // uppercase letter, "//") is INVALID_ARGUMENT.
  absl::StatusOr<Policy> PutPolicy(const Principal& caller,
                                   std::string_view name, std::string_view json,
                                   const AuditRecord* audit = nullptr);
  absl::StatusOr<std::string> GetPolicy(
      std::string_view name) const;  // canonical JSON
  std::vector<std::string> ListPolicies() const;
  // FAILED_PRECONDITION while a principal or token still uses it.
  absl::Status DeletePolicy(std::string_view name,
                            const AuditRecord* audit = nullptr);

  absl::StatusOr<std::unique_ptr<ArtifactWriter>> BeginUpload(
      const UploadSpec& spec, const Principal& who);
  // length 0 = to the end. OUT_OF_RANGE if the range exceeds the version.
  // `delivery` says whether to mark (DeliveryOptions); a fingerprinted
  // reader applies the version's marks for delivery.download_id while it
  // streams (trace/embed.h), identically for any range.
  absl::StatusOr<std::unique_ptr<ArtifactReader>> OpenDownload(
      std::string_view ref, uint64_t offset, uint64_t length,
      const DeliveryOptions& delivery = {}) const;

  // ---- Downloads index and leak tracing (vault/downloads.cc, trace_leak.cc)
  // ---- ChargeDownload that also records `download` in the downloads index, in
  // the same transaction as the charge and the "download started" record
  // (whose sequence it stores). A record already indexed under the same
  // (serial, download_id) — a resumed or parallel range — is left as is.
  // `exact` (an exact pull's read:exact decision) is charged too, in the
  // same transaction: its budgets count exact pulls.
  absl::Status StartDownload(const Principal& who, const Decision& decision,
                             uint64_t bytes, const DownloadRecord& download,
                             const AuditRecord* audit,
                             const Decision* exact = nullptr);
  // NOT_FOUND unless the index holds (serial, download_id).
  absl::StatusOr<DownloadRecord> FindDownload(uint64_t serial,
                                              uint64_t download_id) const;
  // Every indexed download of version `serial`, by download id.
  absl::StatusOr<std::vector<DownloadRecord>> ListDownloads(
      uint64_t serial) const;
  // Appends the download's outcome record and, for a whole-file delivery
  // (`delivered_sha256` non-empty), stores the digest in its index entry;
  // one transaction. UNAVAILABLE (fail closed) if it cannot be written.
  absl::Status FinishDownload(uint64_t serial, uint64_t download_id,
                              std::string_view delivered_sha256,
                              const AuditRecord* audit);

  // Traces a suspected leak, read by range (trace/leak_file.h; the server
  // spools it sealed, trace/sealed_spool.h): tier 0 by hash (an original
  // version or a recorded whole-file delivery), else against `artifact_ref` (""
  // = find the version whose mark table's tensor names and shapes the leak has,
  // preferring the one whose reference values it matches best). Every tier
  // considers only versions of artifacts `scope` allows, so a match outside it
  // is the same NOT_FOUND "no stored version matches this file" as no match.
  // NOT_FOUND if no markable version matches, INVALID_ARGUMENT if the file
  // is neither safetensors nor GGUF (unless tier 0 matched), DATA_LOSS if
  // the file cannot be read back as it was received.
  absl::StatusOr<LeakReport> TraceLeak(const LeakFile& leak,
                                       std::string_view artifact_ref,
                                       const TraceScope& scope,
                                       const DetectOptions& options = {}) const;
  // The same for a leak held in memory.
  absl::StatusOr<LeakReport> TraceLeak(std::string_view leak,
                                       std::string_view artifact_ref,
                                       const TraceScope& scope,
                                       const DetectOptions& options = {}) const;
  // The artifacts `who`, calling from `peer_ip`, may trace (Authorize with
  // action trace); only `only_artifact` when that is not empty.
  TraceScope TraceScopeFor(const Principal& who, std::string peer_ip,
                           std::string only_artifact) const;
  // Ed25519 signature of `bytes` with the audit signing key (64 bytes), and
  // that key's public half (as AuditLog checkpoints use).
  std::string SignWithAuditKey(std::string_view bytes) const;
  const std::string& audit_public_key() const;
  absl::StatusOr<VersionInfo> GetVersion(std::string_view ref) const;
  // `prefix` is a plain name prefix; page_size 0 → 100, capped at 1000.
  absl::StatusOr<VersionPage> ListVersions(std::string_view prefix,
                                           uint32_t page_size,
                                           std::string_view page_token) const;
  // The same, only the versions `who` (calling from `peer_address`) may
  // list. Scans only the ranges of the catalog its list rules reach
  // (access/list_prefixes.h), so a caller who may list little costs little;
  // within them each name is checked (MayList). Page tokens are
  // ListVersions'.
  absl::StatusOr<VersionPage> ListVersionsFor(
      const Principal& who, std::string_view peer_address,
      std::string_view prefix, uint32_t page_size,
      std::string_view page_token) const;
  // Destroys the version's wrapped data key first (crypto-shredding) and
  // then frees its chunks.
  absl::StatusOr<VersionInfo> DeleteVersion(std::string_view ref,
                                            const AuditRecord* audit = nullptr);
  absl::StatusOr<VersionInfo> SetAlias(std::string_view ref,
                                       std::string_view alias,
                                       const AuditRecord* audit = nullptr);
  absl::Status DeleteAlias(std::string_view name, std::string_view alias,
                           const AuditRecord* audit = nullptr);

  // Reads back every chunk of every version (authenticating and hashing it)
  // and cross-checks the catalog: digests, chunk counts, aliases and
  // chunks that belong to no version or pending upload; then verifies the
  // audit chain and its checkpoint signatures. Read-only.
  absl::StatusOr<VerifyReport> Verify() const;

  // Frees the chunks of uploads idle longer than `idle` and of deleted
  // versions. Returns how many uploads/versions were collected.
  absl::StatusOr<size_t> CollectGarbage(absl::Duration idle);

  const VaultOptions& options() const { return options_; }
  // True if Open migrated this vault from an older data format.
  bool migrated_on_open() const { return migrated_on_open_; }

 private:
  // The parsed stored policies plus the built-in "root", by name. Policies
  // are shared between snapshots; one that is replaced or deleted is kept
  // alive (retired_policies_) so a Decision's RuleRef::rule never dangles.
  using PolicySet =
      std::map<std::string, std::shared_ptr<const Policy>, std::less<>>;

  Vault(VaultOptions options, std::unique_ptr<LmdbEnv> env, KeyRing keys,
        TokenHasher tokens, std::unique_ptr<AuditSigningKey> audit_key,
        SecretKey fingerprint_key);
  static absl::StatusOr<std::unique_ptr<LmdbEnv>> OpenEnv(
      const VaultOptions& options);
  // Open, replacing `regenerate` (if any) as RegenerateKey describes.
  static absl::StatusOr<std::unique_ptr<Vault>> OpenAndRegenerate(
      const VaultOptions& options, SecretKey kek,
      std::optional<VaultKey> regenerate);
  // tokens.cc: a new root token, root's superuser policy restored; each
  // step audited as `method` ("modelvaultd root-token", …).
  absl::StatusOr<std::string> MintRootToken(std::string_view method);
  // Writes the audit record of a migration not yet recorded (meta
  // "migration_unrecorded"); returns whether there was one.
  absl::StatusOr<bool> RecordMigration();
  // Stores a regenerated key (`meta_writes`: meta name → value) with its
  // audit record in one transaction; a new token key deletes every token.
  absl::Status StoreRegeneratedKey(
      VaultKey key,
      const std::vector<std::pair<std::string_view, std::string>>& meta_writes);

  // identity_store.cc: parses every stored policy (DATA_LOSS if one no
  // longer parses: skipping a deny rule would widen access) and creates the
  // root principal of a vault from before identities.
  absl::Status LoadIdentity();
  std::shared_ptr<const PolicySet> PolicySnapshot() const;
  // REQUIRES: policy_writes_mu_ held.
  void PublishPolicy(std::string_view name,
                     std::shared_ptr<const Policy> policy);
  // The policies named (unknown names are skipped: they allow nothing).
  static std::vector<const Policy*> ResolvePolicies(
      const PolicySet& set, const std::vector<std::string>& names);
  // Escalation checks (see the admin use cases above), against the current
  // policy snapshot. CheckMayGrant: `caller` covers every policy in
  // `granted`. CheckMayLift: `caller` covers what the deny rules of
  // `policy` denied and `replacement` (nullptr = none) no longer denies.
  // CheckMayTouchHolder: `caller` is root if `target_policies` holds root.
  absl::Status CheckMayGrant(const Principal& caller,
                             const std::vector<std::string>& granted) const;
  absl::Status CheckMayLift(const Principal& caller, const Policy& policy,
                            const Policy* replacement) const;
  absl::Status CheckMayTouchHolder(
      const Principal& caller, std::string_view target,
      const std::vector<std::string>& target_policies) const;
  // Authenticate without the throttle.
  absl::StatusOr<Principal> AuthenticateCredentials(
      const Credentials& credentials);
  absl::StatusOr<Principal> AuthenticateToken(std::string_view authorization);

  // Appends `audit` (if any) in `txn`, naming `resource` if one is given
  // (the version a reference resolved to); UNAVAILABLE if it cannot be
  // written.
  absl::Status AppendAudit(WriteTxn& txn, const AuditRecord* audit,
                           std::string_view resource = "");
  // Commits `audit` (if any) on its own, for a mutation that turned out to
  // write nothing else; UNAVAILABLE if it cannot be committed.
  absl::Status CommitAudit(const AuditRecord* audit);

  // budgets.cc: the allowing rules of `decision` with their Rule resolved,
  // if every one has a budget; empty when some allowing rule has none (the
  // download is not charged).
  std::vector<RuleRef> BudgetedRules(const Decision& decision) const;
  // Charges one download of `bytes` in `txn` to the first of `rules` with
  // room today; RESOURCE_EXHAUSTED naming every budget if none has room
  // (nothing is written then). OK without writing if `rules` is empty.
  absl::Status ChargeRules(WriteTxn& txn, const Principal& who,
                           const std::vector<RuleRef>& rules, uint64_t bytes);

  VaultOptions options_;
  std::unique_ptr<LmdbEnv> env_;
  KeyRing keys_;
  TokenHasher tokens_;
  std::unique_ptr<AuditSigningKey> audit_key_;
  SecretKey
      fingerprint_key_;  // K_fp (meta "fingerprint_key", wrapped by the KEK)
  bool migrated_on_open_ = false;
  AuthThrottle auth_throttle_;
  // Shared with every upload's reservation: a writer may outlive the Vault.
  std::shared_ptr<MemoryBudget> header_budget_;
  std::unique_ptr<AuditLog> audit_;  // declared last: closed first

  std::mutex policy_writes_mu_;  // serialises PutPolicy/DeletePolicy end to end
  mutable std::mutex policies_mu_;
  std::shared_ptr<const PolicySet> policies_ ABSL_GUARDED_BY(policies_mu_);
  std::vector<std::shared_ptr<const Policy>> retired_policies_
      ABSL_GUARDED_BY(policies_mu_);
};

}  // namespace mv

#endif  // MODELVAULT_VAULT_VAULT_H_
