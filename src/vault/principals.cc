// Vault use cases for principals, and the record helpers of
// identity_store.h that principals and tokens share.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "vault/audit_append.h"
#include "vault/identity_store.h"

namespace mv {
namespace {

bool IsNameChar(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

bool IsValidName(std::string_view name, std::string_view extra) {
  if (name.empty() || name.size() > 64 || !IsNameChar(name[0], ""))
    return false;
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return IsNameChar(c, extra); });
}

// "" (none), or "uri:" or "cn:", then 1-256 printable ASCII bytes without
// spaces.
absl::Status CheckCertIdentity(std::string_view identity) {
  if (identity.empty()) return absl::OkStatus();
  std::string_view value = identity;
  if (!StripCertIdentityKind(&value)) {
    return absl::InvalidArgumentError(
        "invalid certificate identity: say which kind it names, "
        "uri:SAN-URI or cn:COMMON-NAME (e.g. uri:spiffe://acme/trainer or "
        "cn:trainer-01)");
  }
  bool ok = !value.empty() && value.size() <= kMaxCertIdentityValue;
  for (char c : value) ok = ok && c > ' ' && c < 0x7f;
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid certificate identity: printable ASCII without "
                     "spaces after the kind, 1 to ",
                     kMaxCertIdentityValue, " characters"));
  }
  return absl::OkStatus();
}

void SortUnique(std::vector<std::string>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

// NOT_FOUND "policy not found: P" unless P is stored or the built-in root.
absl::Status CheckPolicyExists(const Txn& txn, const Dbs& dbs,
                               std::string_view policy) {
  if (policy == kRootPolicy) return absl::OkStatus();
  if (ValidatePolicyName(policy).ok()) {
    MV_ASSIGN_OR_RETURN(auto stored, txn.Get(dbs.policies, policy));
    if (stored) return absl::OkStatus();
  }
  return absl::NotFoundError(
      absl::StrCat("policy not found: ", std::string(policy)));
}

}  // namespace

bool StripCertIdentityKind(std::string_view* identity) {
  for (std::string_view kind : {kCertIdentityUri, kCertIdentityCn}) {
    if (identity->substr(0, kind.size()) == kind) {
      identity->remove_prefix(kind.size());
      return true;
    }
  }
  return false;
}

absl::Status CheckPrincipalName(std::string_view name) {
  if (IsValidName(name, "._@-")) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "invalid principal name: 1-64 of a-z 0-9 . _ @ -, starting with a letter "
      "or digit");
}

absl::Status CheckPolicyName(std::string_view name) {
  if (name == kRootPolicy) {
    return absl::InvalidArgumentError(
        "policy name root is reserved for the built-in root policy");
  }
  return ValidatePolicyName(name);
}

PrincipalRecord RootPrincipalRecord(int64_t now_unix_ms) {
  return PrincipalRecord{
      PrincipalKind::kUser, {std::string(kRootPolicy)}, "", now_unix_ms};
}

absl::StatusOr<std::optional<PrincipalRecord>> FindPrincipal(
    const Txn& txn, const Dbs& dbs, std::string_view name) {
  if (!IsValidName(name, "._@-")) return std::nullopt;
  MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.principals, name));
  if (!raw) return std::nullopt;
  MV_ASSIGN_OR_RETURN(PrincipalRecord record, DecodePrincipal(*raw));
  return record;
}

absl::StatusOr<PrincipalRecord> LoadPrincipal(const Txn& txn, const Dbs& dbs,
                                              std::string_view name) {
  MV_ASSIGN_OR_RETURN(std::optional<PrincipalRecord> record,
                      FindPrincipal(txn, dbs, name));
  if (!record)
    return absl::NotFoundError(
        absl::StrCat("principal not found: ", std::string(name)));
  return *std::move(record);
}

PrincipalInfo ToPrincipalInfo(std::string_view name, const PrincipalRecord& r) {
  return PrincipalInfo{std::string(name), r.kind, r.policies, r.cert_identity,
                       r.created_at_unix_ms};
}

absl::StatusOr<PrincipalInfo> IdentityStore::CreatePrincipal(
    const Principal& caller, PrincipalInfo info, const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPrincipalName(info.name));
  if (info.kind != PrincipalKind::kUser &&
      info.kind != PrincipalKind::kService) {
    return absl::InvalidArgumentError(
        "invalid principal kind: use user or service");
  }
  MV_RETURN_IF_ERROR(CheckCertIdentity(info.cert_identity));
  if (info.policies.size() > kMaxPoliciesPerGrant) {
    return absl::InvalidArgumentError(absl::StrCat(
        "policies: at most ", kMaxPoliciesPerGrant, " per principal"));
  }
  SortUnique(&info.policies);
  info.created_at_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  const PrincipalRecord record{info.kind, info.policies, info.cert_identity,
                               info.created_at_unix_ms};
  const Dbs dbs = Dbs::Of(*env_);
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto existing, FindPrincipal(txn, dbs, info.name));
    if (existing)
      return absl::AlreadyExistsError("principal already exists: " + info.name);
    for (const std::string& p : info.policies)
      MV_RETURN_IF_ERROR(CheckPolicyExists(txn, dbs, p));
    MV_RETURN_IF_ERROR(CheckMayGrant(caller, info.policies));
    if (!info.cert_identity.empty()) {
      MV_ASSIGN_OR_RETURN(auto owner,
                          txn.Get(dbs.cert_identities, info.cert_identity));
      if (owner) {
        return absl::AlreadyExistsError(
            absl::StrCat("certificate identity ", info.cert_identity,
                         " already maps to principal ", std::string(*owner)));
      }
      MV_RETURN_IF_ERROR(
          txn.Put(dbs.cert_identities, info.cert_identity, info.name));
    }
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.principals, info.name, EncodePrincipal(record)));
    return AppendAudit(*audit_, txn, audit);
  }));
  return info;
}

std::vector<PrincipalInfo> IdentityStore::ListPrincipals() const {
  const Dbs dbs = Dbs::Of(*env_);
  std::vector<PrincipalInfo> out;
  absl::Status read = env_->Read([&](const Txn& txn) {
    return txn.Scan(
        dbs.principals, "", "", [&](std::string_view k, std::string_view v) {
          absl::StatusOr<PrincipalRecord> r = DecodePrincipal(v);
          if (r.ok())
            out.push_back(ToPrincipalInfo(k, *r));  // a corrupt one is left out
          return true;
        });
  });
  if (!read.ok()) out.clear();
  return out;  // LMDB key order is name order
}

absl::StatusOr<PrincipalInfo> IdentityStore::GetPrincipal(
    std::string_view name) const {
  MV_RETURN_IF_ERROR(CheckPrincipalName(name));
  const Dbs dbs = Dbs::Of(*env_);
  PrincipalRecord record;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(record, LoadPrincipal(txn, dbs, name));
    return absl::OkStatus();
  }));
  return ToPrincipalInfo(name, record);
}

absl::StatusOr<uint32_t> IdentityStore::DeletePrincipal(
    const Principal& caller, std::string_view name, const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPrincipalName(name));
  if (name == kRootPrincipal) {
    return absl::FailedPreconditionError(
        "the root principal cannot be deleted");
  }
  const Dbs dbs = Dbs::Of(*env_);
  uint32_t revoked = 0;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    revoked = 0;
    MV_ASSIGN_OR_RETURN(PrincipalRecord record, LoadPrincipal(txn, dbs, name));
    MV_RETURN_IF_ERROR(CheckMayTouchHolder(caller, name, record.policies));
    MV_ASSIGN_OR_RETURN(auto tokens, AllTokens(txn, dbs));
    for (const auto& [hash, token] : tokens) {
      if (token.principal != name) continue;
      MV_RETURN_IF_ERROR(DeleteToken(txn, dbs, hash, token.accessor));
      ++revoked;
    }
    if (!record.cert_identity.empty()) {
      MV_RETURN_IF_ERROR(txn.Delete(dbs.cert_identities, record.cert_identity));
    }
    // Budget counters go too: a principal created later under the same
    // name starts afresh.
    std::string prefix(name);
    prefix.push_back('\0');
    std::vector<std::string> budgets;
    MV_RETURN_IF_ERROR(
        txn.Scan(dbs.budgets, prefix, prefix, [&](std::string_view k, auto) {
          budgets.emplace_back(k);
          return true;
        }));
    for (const std::string& k : budgets)
      MV_RETURN_IF_ERROR(txn.Delete(dbs.budgets, k));
    MV_RETURN_IF_ERROR(txn.Delete(dbs.principals, name));
    return AppendAudit(*audit_, txn, audit);
  }));
  return revoked;
}

absl::StatusOr<PrincipalInfo> IdentityStore::AttachPolicy(
    const Principal& caller, std::string_view principal,
    std::string_view policy, const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPrincipalName(principal));
  const Dbs dbs = Dbs::Of(*env_);
  PrincipalRecord record;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(record, LoadPrincipal(txn, dbs, principal));
    MV_RETURN_IF_ERROR(CheckPolicyExists(txn, dbs, policy));
    MV_RETURN_IF_ERROR(CheckMayTouchHolder(caller, principal, record.policies));
    MV_RETURN_IF_ERROR(CheckMayGrant(caller, {std::string(policy)}));
    record.policies.emplace_back(policy);
    SortUnique(&record.policies);
    if (record.policies.size() > kMaxPoliciesPerGrant) {
      return absl::InvalidArgumentError(absl::StrCat(
          "principal ", std::string(principal), " already has ",
          kMaxPoliciesPerGrant, " policies, the most one may hold"));
    }
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.principals, principal, EncodePrincipal(record)));
    return AppendAudit(*audit_, txn, audit);
  }));
  return ToPrincipalInfo(principal, record);
}

absl::StatusOr<PrincipalInfo> IdentityStore::DetachPolicy(
    const Principal& caller, std::string_view principal,
    std::string_view policy, const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPrincipalName(principal));
  if (principal == kRootPrincipal && policy == kRootPolicy) {
    return absl::FailedPreconditionError(
        "the root principal keeps the root policy");
  }
  const Dbs dbs = Dbs::Of(*env_);
  PrincipalRecord record;
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(record, LoadPrincipal(txn, dbs, principal));
    MV_RETURN_IF_ERROR(CheckMayTouchHolder(caller, principal, record.policies));
    if (const std::shared_ptr<const PolicySet> set = PolicySnapshot();
        set->count(policy) > 0) {
      // Detaching a policy lifts its deny rules for this principal.
      MV_RETURN_IF_ERROR(
          CheckMayLift(caller, *set->find(policy)->second, nullptr));
    }
    if (std::erase(record.policies, policy) == 0) {
      return absl::NotFoundError(
          absl::StrCat("principal ", std::string(principal),
                       " does not have policy ", std::string(policy)));
    }
    MV_RETURN_IF_ERROR(
        txn.Put(dbs.principals, principal, EncodePrincipal(record)));
    return AppendAudit(*audit_, txn, audit);
  }));
  return ToPrincipalInfo(principal, record);
}

}  // namespace mv
