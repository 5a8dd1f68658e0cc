// Vault use cases for policies and authorization: the stored policy
// documents, their parsed in-memory snapshot, and Authorize.
#include "vault/identity_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "access/coverage.h"
#include "common/status_macros.h"
#include "vault/audit_append.h"

namespace mv {
namespace {

std::string DenialMessage(const AccessRequest& request,
                          const Decision& decision) {
  std::string message = absl::StrCat("permission denied: ",
                                     std::string(ActionName(request.action)));
  if (!request.artifact.empty())
    absl::StrAppend(&message, " on ", request.artifact);
  // A deny rule is matched by name and conditions alone, so naming it says
  // nothing about whether the artifact exists.
  if (std::string_view(decision.reason).starts_with("denied by")) {
    absl::StrAppend(&message, " (", decision.reason, ")");
  }
  return message;
}

// What `policy get root` shows: the built-in policy allows everything
// (Evaluate knows it by name; it has no stored rules).
Policy DescribeRootPolicy() {
  Rule all;
  all.artifacts = {"**"};
  all.actions = (1u << kActionCount) - 1;
  Policy root;
  root.name = kRootPolicy;
  root.rules.push_back(std::move(all));
  return root;
}

}  // namespace

IdentityStore::IdentityStore(const VaultOptions& options, LmdbEnv& env,
                             AuditLog& audit, TokenHasher tokens)
    : options_(options),
      env_(&env),
      audit_(&audit),
      tokens_(std::move(tokens)),
      auth_throttle_(options.auth_throttle) {}

absl::StatusOr<std::unique_ptr<IdentityStore>> IdentityStore::Load(
    const VaultOptions& options, LmdbEnv& env, AuditLog& audit,
    TokenHasher tokens) {
  std::unique_ptr<IdentityStore> store(
      new IdentityStore(options, env, audit, std::move(tokens)));
  MV_RETURN_IF_ERROR(store->LoadPolicies());
  return store;
}

absl::Status IdentityStore::LoadPolicies() {
  const Dbs dbs = Dbs::Of(*env_);
  auto set = std::make_shared<PolicySet>();
  auto builtin_root = std::make_shared<Policy>();
  builtin_root->name = kRootPolicy;  // no rules: Evaluate knows it by name
  set->emplace(std::string(kRootPolicy), std::move(builtin_root));
  bool has_root = false;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    absl::Status parse;
    MV_RETURN_IF_ERROR(txn.Scan(
        dbs.policies, "", "", [&](std::string_view k, std::string_view v) {
          absl::StatusOr<Policy> policy = ParsePolicy(k, v);
          if (!policy.ok()) {
            parse = absl::DataLossError(
                absl::StrCat("stored policy ", std::string(k),
                             " does not parse: ", policy.status().message()));
            return false;
          }
          set->emplace(std::string(k),
                       std::make_shared<const Policy>(*std::move(policy)));
          return true;
        }));
    MV_RETURN_IF_ERROR(parse);
    MV_ASSIGN_OR_RETURN(auto root, txn.Get(dbs.principals, kRootPrincipal));
    has_root = root.has_value();
    return absl::OkStatus();
  }));
  {
    MutexLock lock(&policies_mu_);
    policies_ = std::move(set);
  }
  if (has_root) return absl::OkStatus();
  // A vault from before identities: its root token names "root", which
  // becomes the superuser it always was, and its tokens get accessor entries.
  const PrincipalRecord root =
      RootPrincipalRecord(absl::ToUnixMillis(options_.clock->Now()));
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto existing, txn.Get(dbs.principals, kRootPrincipal));
    if (existing) return absl::OkStatus();
    MV_ASSIGN_OR_RETURN(auto tokens, AllTokens(txn, dbs));
    for (const auto& [hash, token] : tokens) {
      MV_RETURN_IF_ERROR(txn.Put(dbs.accessors, token.accessor, hash));
    }
    return txn.Put(dbs.principals, kRootPrincipal, EncodePrincipal(root));
  });
}

std::shared_ptr<const IdentityStore::PolicySet> IdentityStore::PolicySnapshot()
    const {
  MutexLock lock(&policies_mu_);
  return policies_;
}

void IdentityStore::PublishPolicy(std::string_view name,
                                  std::shared_ptr<const Policy> policy) {
  MutexLock lock(&policies_mu_);
  auto next = std::make_shared<PolicySet>(*policies_);
  if (auto it = next->find(name); it != next->end()) {
    retired_policies_.push_back(it->second);
    next->erase(it);
  }
  if (policy) next->emplace(std::string(name), std::move(policy));
  policies_ = std::move(next);
}

std::vector<const Policy*> IdentityStore::ResolvePolicies(
    const PolicySet& set, const std::vector<std::string>& names) {
  std::vector<const Policy*> out;
  out.reserve(names.size());
  for (const std::string& name : names) {
    if (auto it = set.find(name); it != set.end())
      out.push_back(it->second.get());
  }
  return out;
}

absl::StatusOr<Decision> IdentityStore::Authorize(const Principal& who,
                                                  Action action,
                                                  std::string_view artifact,
                                                  std::string_view peer_address,
                                                  bool fingerprinted) const {
  AccessRequest request;
  request.action = action;
  request.artifact = std::string(artifact);
  request.peer_address = std::string(peer_address);
  request.now = absl::InfinitePast();  // the vault's clock
  request.fingerprinted = fingerprinted;
  return Authorize(who, std::move(request));
}

std::vector<const Policy*> IdentityStore::PoliciesOf(
    const Principal& who) const {
  return ResolvePolicies(*PolicySnapshot(), who.policies);
}

absl::StatusOr<Decision> IdentityStore::Authorize(const Principal& who,
                                                  AccessRequest request) const {
  if (request.now == absl::InfinitePast()) {
    request.now = options_.clock->Now();
  }
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  // The snapshot may be replaced as soon as this returns; the Policy objects
  // the decision points into live on (retired_policies_).
  Decision decision =
      Evaluate(ResolvePolicies(*policies, who.policies), request);
  if (!decision.allowed)
    return absl::PermissionDeniedError(DenialMessage(request, decision));
  return decision;
}

absl::Status IdentityStore::MayActOnSomeArtifact(const Principal& who,
                                                 Action action) const {
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  if (MayAllowOnSomeArtifact(ResolvePolicies(*policies, who.policies),
                             action)) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("permission denied: no policy allows ",
                   std::string(ActionName(action)), " on any artifact"));
}

bool IdentityStore::MayList(const Principal& who, std::string_view name,
                            std::string_view peer_address) const {
  AccessRequest request;
  request.action = Action::kList;
  request.artifact = std::string(name);
  request.peer_address = std::string(peer_address);
  request.now = absl::InfinitePast();
  return Authorize(who, std::move(request)).ok();
}

absl::Status IdentityStore::CheckMayGrant(
    const Principal& caller, const std::vector<std::string>& granted) const {
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  const std::vector<const Policy*> mine =
      ResolvePolicies(*policies, caller.policies);
  for (const std::string& name : granted) {
    // An unknown name grants nothing (and CheckPolicyExists refuses it).
    if (auto it = policies->find(name); it != policies->end())
      MV_RETURN_IF_ERROR(CheckCovers(mine, *it->second));
  }
  return absl::OkStatus();
}

absl::Status IdentityStore::CheckMayLift(const Principal& caller,
                                         const Policy& policy,
                                         const Policy* replacement) const {
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  return CheckMayLiftDenies(ResolvePolicies(*policies, caller.policies), policy,
                            replacement);
}

absl::Status IdentityStore::CheckMayTouchHolder(
    const Principal& caller, std::string_view target,
    const std::vector<std::string>& target_policies) const {
  if (std::find(target_policies.begin(), target_policies.end(), kRootPolicy) ==
          target_policies.end() ||
      std::find(caller.policies.begin(), caller.policies.end(), kRootPolicy) !=
          caller.policies.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "permission denied: principal ", std::string(target),
      " holds the root policy; only a root caller may change it, its "
      "policies or its tokens"));
}

absl::StatusOr<Policy> IdentityStore::PutPolicy(const Principal& caller,
                                                std::string_view name,
                                                std::string_view json,
                                                const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPolicyName(name));
  MV_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(name, json));
  MV_RETURN_IF_ERROR(CheckGlobsCanMatchNames(policy));
  const std::string canonical = PolicyToJson(policy);
  const Dbs dbs = Dbs::Of(*env_);
  // Held across the checks, the write and the publish, so that snapshots
  // follow commit order and the checks see the policies being replaced.
  MutexLock writes(&policy_writes_mu_);
  const std::shared_ptr<const PolicySet> current = PolicySnapshot();
  const std::vector<const Policy*> mine =
      ResolvePolicies(*current, caller.policies);
  MV_RETURN_IF_ERROR(CheckCovers(mine, policy));
  if (auto it = current->find(name); it != current->end())
    MV_RETURN_IF_ERROR(CheckMayLiftDenies(mine, *it->second, &policy));
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(txn.Put(dbs.policies, name, canonical));
    return AppendAudit(*audit_, txn, audit);
  }));
  PublishPolicy(name, std::make_shared<const Policy>(policy));
  return policy;
}

absl::StatusOr<std::string> IdentityStore::GetPolicy(
    std::string_view name) const {
  if (name == kRootPolicy) return PolicyToJson(DescribeRootPolicy());
  const absl::Status not_found = absl::NotFoundError(
      absl::StrCat("policy not found: ", std::string(name)));
  if (!CheckPolicyName(name).ok()) return not_found;
  const Dbs dbs = Dbs::Of(*env_);
  std::optional<std::string> json;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.policies, name));
    if (raw) json = std::string(*raw);
    return absl::OkStatus();
  }));
  if (!json) return not_found;
  return *std::move(json);
}

std::vector<std::string> IdentityStore::ListPolicies() const {
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  std::vector<std::string> names;
  for (const auto& [name, policy] : *policies) names.push_back(name);
  return names;  // map order; includes the built-in root
}

absl::Status IdentityStore::DeletePolicy(std::string_view name,
                                         const AuditRecord* audit) {
  if (name == kRootPolicy) {
    return absl::InvalidArgumentError(
        "policy root is built in and cannot be deleted");
  }
  const absl::Status not_found = absl::NotFoundError(
      absl::StrCat("policy not found: ", std::string(name)));
  if (!CheckPolicyName(name).ok()) return not_found;
  const Dbs dbs = Dbs::Of(*env_);
  MutexLock writes(&policy_writes_mu_);
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.policies, name));
    if (!stored) return not_found;
    std::vector<std::string> principals, tokens;
    absl::Status decode;
    MV_RETURN_IF_ERROR(txn.Scan(
        dbs.principals, "", "", [&](std::string_view k, std::string_view v) {
          absl::StatusOr<PrincipalRecord> p = DecodePrincipal(v);
          if (!p.ok()) return decode = p.status(), false;
          if (std::find(p->policies.begin(), p->policies.end(), name) !=
              p->policies.end()) {
            principals.emplace_back(k);
          }
          return true;
        }));
    MV_RETURN_IF_ERROR(decode);
    MV_ASSIGN_OR_RETURN(auto all_tokens, AllTokens(txn, dbs));
    for (const auto& [hash, token] : all_tokens) {
      if (std::find(token.policies.begin(), token.policies.end(), name) !=
          token.policies.end()) {
        tokens.push_back(token.accessor);
      }
    }
    if (!principals.empty() || !tokens.empty()) {
      std::sort(tokens.begin(), tokens.end());
      return absl::FailedPreconditionError(absl::StrCat(
          "policy ", std::string(name), " is still used by principals [",
          absl::StrJoin(principals, ", "), "] and tokens [",
          absl::StrJoin(tokens, ", "),
          "]; detach it (and revoke those tokens) first"));
    }
    MV_RETURN_IF_ERROR(txn.Delete(dbs.policies, name));
    return AppendAudit(*audit_, txn, audit);
  }));
  PublishPolicy(name, nullptr);
  return absl::OkStatus();
}

}  // namespace mv
