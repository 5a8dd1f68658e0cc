// IdentityStore: who may do what. Principals, tokens, stored policies and
// their parsed snapshot, authentication (with its per-address throttle),
// authorization, delegation without escalation, and daily download budgets.
// Below the class: the transaction-level helpers it shares with Init and
// verify (name rules, principal and token records).
//
// Thread safety: an IdentityStore is thread-safe. Records live in LMDB
// (LmdbEnv's transactions); the parsed policies are an immutable snapshot
// swapped under policies_mu_, and policy writes are serialised end to end
// by policy_writes_mu_ so a snapshot never lags the stored documents.
#ifndef MODELVAULT_VAULT_IDENTITY_STORE_H_
#define MODELVAULT_VAULT_IDENTITY_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "access/auth_throttle.h"
#include "access/policy.h"
#include "audit/audit_log.h"
#include "common/mutex.h"
#include "crypto/token.h"
#include "storage/lmdb_env.h"
#include "vault/catalog.h"
#include "vault/identity.h"
#include "vault/records.h"
#include "vault/vault_options.h"

namespace mv {

class IdentityStore {
 public:
  // Parses every stored policy (DATA_LOSS if one no longer parses: skipping
  // a deny rule would widen access) and creates the root principal of a
  // vault from before identities. `env`, `options` and `audit` outlive the
  // store.
  static absl::StatusOr<std::unique_ptr<IdentityStore>> Load(
      const VaultOptions& options, LmdbEnv& env, AuditLog& audit,
      TokenHasher tokens);

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
  // pointers stay valid for the life of the store. Never parses JSON.
  absl::StatusOr<Decision> Authorize(const Principal& who,
                                     AccessRequest request) const;
  // The same for one `action` on one artifact, from `peer_address`, now.
  absl::StatusOr<Decision> Authorize(const Principal& who, Action action,
                                     std::string_view artifact,
                                     std::string_view peer_address,
                                     bool fingerprinted = false) const;
  // PERMISSION_DENIED "permission denied: no policy allows trace on any
  // artifact" unless some policy of `who` might allow `action` somewhere
  // (MayAllowOnSomeArtifact): the check before a trace spools a file whose
  // version it has yet to find.
  absl::Status MayActOnSomeArtifact(const Principal& who, Action action) const;
  // True iff `who` may list `name` (for filtering ls results).
  bool MayList(const Principal& who, std::string_view name,
               std::string_view peer_address) const;
  // The policies of `who` as parsed now (unknown names are skipped: they
  // allow nothing); the pointers stay valid for the life of the store.
  std::vector<const Policy*> PoliciesOf(const Principal& who) const;

  // Charges one download of `bytes` to the daily budgets (UTC day) of the
  // rule that allowed it: no charge if some allowing rule has no budget;
  // else the first rule with room is charged; RESOURCE_EXHAUSTED naming the
  // budget if none has room ("daily download budget exhausted: policy P
  // rule N allows 20 downloads/day"), before anything is charged. Counters
  // live in LMDB and survive restarts.
  absl::Status ChargeDownload(const Principal& who, const Decision& decision,
                              uint64_t bytes,
                              const AuditRecord* audit = nullptr);
  // The same charge in `txn`, for a use case that commits more with it
  // (DownloadIndex::StartDownload). Writes nothing when it refuses.
  absl::Status ChargeDownload(WriteTxn& txn, const Principal& who,
                              const Decision& decision, uint64_t bytes) const;

  // The admin use cases below act for `caller` and never let it escalate
  // (access/coverage.h): a policy may be attached, granted at creation,
  // issued in a token or written only if the caller's own rights cover
  // every allow rule it grants; lifting a deny rule (replacing a policy
  // without it, detaching a policy that holds it) needs the same cover as
  // granting what it denied. Only a root caller may touch a principal that
  // holds the root policy: attach to it, detach from it, mint or revoke its
  // tokens, delete it. Refusals are PERMISSION_DENIED naming the first
  // uncovered rule, checked in the write transaction that would commit.
  // Each mutation appends `audit` (if any) in its own transaction
  // (vault/vault.h, "Audit").
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

  // Offline recovery (Vault::IssueRootToken, RegenerateKey): a new root
  // token, root's superuser policy restored; each step audited as `method`
  // ("modelvaultd root-token", …).
  absl::StatusOr<std::string> MintRootToken(std::string_view method);

 private:
  // The parsed stored policies plus the built-in "root", by name. Policies
  // are shared between snapshots; one that is replaced or deleted is kept
  // alive (retired_policies_) so a Decision's RuleRef::rule never dangles.
  using PolicySet =
      std::map<std::string, std::shared_ptr<const Policy>, std::less<>>;

  IdentityStore(const VaultOptions& options, LmdbEnv& env, AuditLog& audit,
                TokenHasher tokens);
  absl::Status LoadPolicies();
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

  // budgets.cc: the allowing rules of `decision` with their Rule resolved,
  // if every one has a budget; empty when some allowing rule has none (the
  // download is not charged).
  std::vector<RuleRef> BudgetedRules(const Decision& decision) const;
  // Charges one download of `bytes` in `txn` to the first of `rules` with
  // room today; RESOURCE_EXHAUSTED naming every budget if none has room
  // (nothing is written then). OK without writing if `rules` is empty.
  absl::Status ChargeRules(WriteTxn& txn, const Principal& who,
                           const std::vector<RuleRef>& rules,
                           uint64_t bytes) const;

  const VaultOptions& options_;
  LmdbEnv* const env_;
  AuditLog* const audit_;
  const TokenHasher tokens_;
  AuthThrottle auth_throttle_;

  Mutex policy_writes_mu_;     // serialises PutPolicy/DeletePolicy
  mutable Mutex policies_mu_;  // taken after policy_writes_mu_
  std::shared_ptr<const PolicySet> policies_ ABSL_GUARDED_BY(policies_mu_);
  std::vector<std::shared_ptr<const Policy>> retired_policies_
      ABSL_GUARDED_BY(policies_mu_);
};

// ---- Record-level helpers, shared with Init and verify ----

// Removes the kind prefix of `identity`; false if it has none.
bool StripCertIdentityKind(std::string_view* identity);

// [a-z0-9][a-z0-9._@-]{0,63}; INVALID_ARGUMENT naming the rule otherwise.
absl::Status CheckPrincipalName(std::string_view name);
// ValidatePolicyName, and not the reserved "root" (for stored documents).
absl::Status CheckPolicyName(std::string_view name);

// The root principal as Init creates it.
PrincipalRecord RootPrincipalRecord(int64_t now_unix_ms);

// nullopt if absent; DATA_LOSS if the record is corrupt.
absl::StatusOr<std::optional<PrincipalRecord>> FindPrincipal(
    const Txn& txn, const Dbs& dbs, std::string_view name);
// NOT_FOUND "principal not found: NAME" if absent.
absl::StatusOr<PrincipalRecord> LoadPrincipal(const Txn& txn, const Dbs& dbs,
                                              std::string_view name);
PrincipalInfo ToPrincipalInfo(std::string_view name,
                              const PrincipalRecord& record);
TokenInfo ToTokenInfo(const TokenRecord& record);

// Stores the token under its hash and its accessor → hash.
absl::Status PutToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                      const TokenRecord& record);
// Removes both entries of one token.
absl::Status DeleteToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                         std::string_view accessor);
// Every token: (hash, record), in hash order. DATA_LOSS on a corrupt record.
absl::StatusOr<std::vector<std::pair<std::string, TokenRecord>>> AllTokens(
    const Txn& txn, const Dbs& dbs);

}  // namespace mv

#endif  // MODELVAULT_VAULT_IDENTITY_STORE_H_
