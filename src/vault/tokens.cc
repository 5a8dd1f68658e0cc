// Vault use cases for bearer tokens: authentication, issuing, listing and
// revoking, and offline root-token recovery.
#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "vault/audit_append.h"
#include "vault/identity_store.h"

namespace mv {
namespace {

absl::Status Unauthenticated() {
  return absl::UnauthenticatedError(kUnauthenticatedMessage);
}

// The policies a token grants: the principal's current ones, narrowed to
// the token's own list when it has one (a detached policy drops out).
std::vector<std::string> EffectivePolicies(const TokenRecord& token,
                                           const PrincipalRecord& principal) {
  if (token.policies.empty()) return principal.policies;
  std::vector<std::string> out;
  std::set_intersection(token.policies.begin(), token.policies.end(),
                        principal.policies.begin(), principal.policies.end(),
                        std::back_inserter(out));
  return out;
}

// Accessors are 24 hex characters; anything else cannot name a token (and a
// key over LMDB's 511 bytes must never reach it).
bool PlausibleAccessor(std::string_view accessor) {
  return !accessor.empty() && accessor.size() <= 64;
}

}  // namespace

absl::Status PutToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                      const TokenRecord& record) {
  MV_ASSIGN_OR_RETURN(auto taken, txn.Get(dbs.accessors, record.accessor));
  if (taken) return absl::InternalError("token accessor collision; try again");
  MV_RETURN_IF_ERROR(txn.Put(dbs.tokens, hash, EncodeToken(record)));
  return txn.Put(dbs.accessors, record.accessor, hash);
}

absl::Status DeleteToken(WriteTxn& txn, const Dbs& dbs, std::string_view hash,
                         std::string_view accessor) {
  MV_RETURN_IF_ERROR(txn.Delete(dbs.tokens, hash));
  return txn.Delete(dbs.accessors, accessor);
}

absl::StatusOr<std::vector<std::pair<std::string, TokenRecord>>> AllTokens(
    const Txn& txn, const Dbs& dbs) {
  std::vector<std::pair<std::string, TokenRecord>> out;
  absl::Status decode;
  MV_RETURN_IF_ERROR(
      txn.Scan(dbs.tokens, "", "", [&](std::string_view k, std::string_view v) {
        absl::StatusOr<TokenRecord> r = DecodeToken(v);
        if (!r.ok()) return decode = r.status(), false;
        out.emplace_back(std::string(k), *std::move(r));
        return true;
      }));
  MV_RETURN_IF_ERROR(decode);
  return out;
}

TokenInfo ToTokenInfo(const TokenRecord& r) {
  return TokenInfo{r.accessor,           r.principal,          r.policies,
                   r.created_at_unix_ms, r.expires_at_unix_ms, r.uses_left};
}

absl::StatusOr<Principal> IdentityStore::Authenticate(
    std::string_view authorization) {
  return Authenticate(Credentials{std::string(authorization), {}, ""});
}

absl::StatusOr<Principal> IdentityStore::Authenticate(
    const Credentials& credentials) {
  absl::StatusOr<Principal> who = AuthenticateCredentials(credentials);
  if (who.status().code() != absl::StatusCode::kUnauthenticated) return who;
  MV_RETURN_IF_ERROR(
      auth_throttle_.Failed(credentials.peer_ip, options_.clock->Now()));
  return who;
}

absl::StatusOr<size_t> IdentityStore::AuditThrottledAuthentications() {
  std::vector<ThrottledAddress> drained = auth_throttle_.Drain();
  const AuthThrottleLimits& limits = auth_throttle_.limits();
  for (size_t i = 0; i < drained.size(); ++i) {
    const ThrottledAddress& address = drained[i];
    AuditRecord record;
    record.peer = address.address;
    record.decision = AuditDecision::kUnauthenticated;
    record.status_code =
        static_cast<uint32_t>(absl::StatusCode::kResourceExhausted);
    record.reason = absl::StrCat(
        "rate limited: ", address.refused,
        " failed authentications refused from ",
        absl::FormatTime(absl::RFC3339_sec, address.first, absl::UTCTimeZone()),
        " to ",
        absl::FormatTime(absl::RFC3339_sec, address.last, absl::UTCTimeZone()),
        " (allowance: ", limits.burst, " at once, ", limits.per_minute,
        " per minute)");
    if (absl::StatusOr<uint64_t> s = audit_->Commit(std::move(record));
        !s.ok()) {
      auth_throttle_.Restore(std::vector<ThrottledAddress>(
          drained.begin() + static_cast<ptrdiff_t>(i), drained.end()));
      return s.status();
    }
  }
  return drained.size();
}

absl::StatusOr<Principal> IdentityStore::AuthenticateCredentials(
    const Credentials& credentials) {
  const std::vector<std::string>& identities = credentials.cert_identities;
  if (!credentials.authorization && identities.empty())
    return Unauthenticated();
  std::optional<Principal> who;
  if (credentials.authorization) {
    MV_ASSIGN_OR_RETURN(who, AuthenticateToken(*credentials.authorization));
  }
  if (identities.empty()) return *std::move(who);
  if (identities.size() > kMaxCertIdentitiesPerCall) return Unauthenticated();
  const Dbs dbs = Dbs::Of(*env_);
  std::string name, matched;
  bool ambiguous = false;
  std::optional<PrincipalRecord> record;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    // Every registered identity of the certificate must name the same
    // principal: one that two principals claim is refused, never settled
    // by the order of its names.
    for (const std::string& identity : identities) {
      if (identity.size() > kMaxCertIdentityKey) continue;
      MV_ASSIGN_OR_RETURN(auto owner, txn.Get(dbs.cert_identities, identity));
      if (!owner) continue;
      if (matched.empty()) {
        name = std::string(*owner);
        matched = identity;
      } else if (*owner != name) {
        ambiguous = true;
      }
    }
    if (matched.empty() || ambiguous) return absl::OkStatus();
    absl::StatusOr<std::optional<PrincipalRecord>> found =
        FindPrincipal(txn, dbs, name);
    if (found.ok()) record = *std::move(found);
    return absl::OkStatus();
  }));
  if (!record || (who && who->name != name)) return Unauthenticated();
  if (!who) {
    who = Principal{name, record->kind, "", "", record->policies, 0, -1};
  }
  who->tls_identity = matched;
  return *std::move(who);
}

// Every credential problem is the one UNAUTHENTICATED status; storage
// failures pass through.
absl::StatusOr<Principal> IdentityStore::AuthenticateToken(
    std::string_view authorization) {
  absl::StatusOr<std::string_view> token = ParseBearer(authorization);
  if (!token.ok()) return Unauthenticated();
  const std::string hash = tokens_.Hash(*token);
  const int64_t now = absl::ToUnixMillis(options_.clock->Now());
  const Dbs dbs = Dbs::Of(*env_);
  TokenRecord record;
  Principal who;
  bool valid = false;
  // The lookup is an exact-key get of the keyed hash: the only comparison
  // of secret-derived bytes happens inside LMDB, on the hash.
  auto check = [&](const Txn& txn) -> absl::Status {
    valid = false;
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.tokens, hash));
    if (!raw) return absl::OkStatus();
    absl::StatusOr<TokenRecord> decoded = DecodeToken(*raw);
    if (!decoded.ok()) return absl::OkStatus();
    record = *std::move(decoded);
    if (record.expires_at_unix_ms != 0 && now >= record.expires_at_unix_ms)
      return absl::OkStatus();
    if (record.uses_left == 0) return absl::OkStatus();
    absl::StatusOr<std::optional<PrincipalRecord>> principal =
        FindPrincipal(txn, dbs, record.principal);
    if (!principal.ok() || !*principal) return absl::OkStatus();
    who = Principal{record.principal,
                    (*principal)->kind,
                    record.accessor,
                    "",
                    EffectivePolicies(record, **principal),
                    record.expires_at_unix_ms,
                    record.uses_left};
    valid = true;
    return absl::OkStatus();
  };
  MV_RETURN_IF_ERROR(env_->Read(check));
  if (!valid) return Unauthenticated();
  if (record.uses_left < 0) return who;  // unlimited: no write
  // Limited: check again and consume one use in one write transaction, so
  // concurrent calls cannot spend the same use twice.
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_RETURN_IF_ERROR(check(txn));
    if (!valid) return absl::OkStatus();
    --record.uses_left;
    who.token_uses_left = record.uses_left;
    return txn.Put(dbs.tokens, hash, EncodeToken(record));
  }));
  if (!valid) return Unauthenticated();
  return who;
}

absl::StatusOr<IssuedToken> IdentityStore::CreateToken(
    const Principal& caller, const TokenSpec& spec, const AuditRecord* audit) {
  MV_RETURN_IF_ERROR(CheckPrincipalName(spec.principal));
  if (spec.ttl < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("token ttl must not be negative");
  }
  if (spec.uses < 0)
    return absl::InvalidArgumentError("token uses must not be negative");
  if (spec.ttl > kMaxTokenTtl) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttl_seconds: at most ",
                     absl::ToInt64Seconds(kMaxTokenTtl), " (ten years)"));
  }
  if (spec.uses > kMaxTokenUses) {
    return absl::InvalidArgumentError(
        absl::StrCat("uses: at most ", kMaxTokenUses));
  }
  if (spec.policies.size() > kMaxPoliciesPerGrant) {
    return absl::InvalidArgumentError(
        absl::StrCat("policies: at most ", kMaxPoliciesPerGrant, " per token"));
  }
  TokenRecord record;
  record.principal = spec.principal;
  record.accessor = GenerateAccessor();
  record.created_at_unix_ms = absl::ToUnixMillis(options_.clock->Now());
  record.policies = spec.policies;
  std::sort(record.policies.begin(), record.policies.end());
  record.policies.erase(
      std::unique(record.policies.begin(), record.policies.end()),
      record.policies.end());
  if (spec.ttl > absl::ZeroDuration()) {
    record.expires_at_unix_ms =
        record.created_at_unix_ms +
        std::max<int64_t>(1, absl::ToInt64Milliseconds(spec.ttl));
  }
  record.uses_left = spec.uses > 0 ? spec.uses : -1;
  IssuedToken issued{GenerateToken(), ToTokenInfo(record)};
  // The record names the new token by its accessor (never the token).
  std::optional<AuditRecord> completed;
  if (audit != nullptr) {
    completed = *audit;
    if (completed->resource.empty())
      completed->resource = "token:" + record.accessor;
  }
  const Dbs dbs = Dbs::Of(*env_);
  MV_RETURN_IF_ERROR(env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(PrincipalRecord principal,
                        LoadPrincipal(txn, dbs, spec.principal));
    for (const std::string& p : record.policies) {
      if (!std::binary_search(principal.policies.begin(),
                              principal.policies.end(), p)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "policy ", p, " is not attached to principal ", spec.principal,
            " (a token's policies must be a subset of its principal's)"));
      }
    }
    MV_RETURN_IF_ERROR(
        CheckMayTouchHolder(caller, spec.principal, principal.policies));
    MV_RETURN_IF_ERROR(
        CheckMayGrant(caller, EffectivePolicies(record, principal)));
    MV_RETURN_IF_ERROR(PutToken(txn, dbs, tokens_.Hash(issued.token), record));
    return AppendAudit(*audit_, txn, completed ? &*completed : nullptr);
  }));
  return issued;
}

std::vector<TokenInfo> IdentityStore::ListTokens(
    std::string_view principal) const {
  const Dbs dbs = Dbs::Of(*env_);
  std::vector<TokenInfo> out;
  absl::Status read = env_->Read([&](const Txn& txn) -> absl::Status {
    // Not AllTokens: one corrupt record must not hide the others.
    return txn.Scan(
        dbs.tokens, "", "", [&](std::string_view, std::string_view v) {
          absl::StatusOr<TokenRecord> r = DecodeToken(v);
          if (r.ok() && (principal.empty() || r->principal == principal)) {
            out.push_back(ToTokenInfo(*r));
          }
          return true;
        });
  });
  if (!read.ok()) out.clear();
  std::sort(out.begin(), out.end(), [](const TokenInfo& a, const TokenInfo& b) {
    return std::tie(a.principal, a.created_at_unix_ms, a.accessor) <
           std::tie(b.principal, b.created_at_unix_ms, b.accessor);
  });
  return out;
}

absl::StatusOr<TokenInfo> IdentityStore::LookupToken(
    std::string_view accessor) const {
  const absl::Status not_found = absl::NotFoundError(
      absl::StrCat("token not found: accessor ", std::string(accessor)));
  if (!PlausibleAccessor(accessor)) return not_found;
  const Dbs dbs = Dbs::Of(*env_);
  std::optional<TokenRecord> record;
  MV_RETURN_IF_ERROR(env_->Read([&](const Txn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto hash, txn.Get(dbs.accessors, accessor));
    if (!hash) return absl::OkStatus();
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.tokens, *hash));
    if (!raw) return absl::OkStatus();
    MV_ASSIGN_OR_RETURN(record, DecodeToken(*raw));
    return absl::OkStatus();
  }));
  if (!record) return not_found;
  return ToTokenInfo(*record);
}

absl::Status IdentityStore::RevokeToken(const Principal& caller,
                                        std::string_view accessor,
                                        const AuditRecord* audit) {
  const absl::Status not_found = absl::NotFoundError(
      absl::StrCat("token not found: accessor ", std::string(accessor)));
  if (!PlausibleAccessor(accessor)) return not_found;
  const Dbs dbs = Dbs::Of(*env_);
  const std::shared_ptr<const PolicySet> policies = PolicySnapshot();
  AccessRequest admin_tokens;
  admin_tokens.action = Action::kAdminTokens;
  admin_tokens.now = options_.clock->Now();
  return env_->Write([&](WriteTxn& txn) -> absl::Status {
    MV_ASSIGN_OR_RETURN(auto hash_view, txn.Get(dbs.accessors, accessor));
    if (!hash_view) return not_found;
    const std::string hash(*hash_view);
    MV_ASSIGN_OR_RETURN(auto raw, txn.Get(dbs.tokens, hash));
    if (!raw)
      return txn.Delete(dbs.accessors, accessor);  // a dangling accessor
    MV_ASSIGN_OR_RETURN(TokenRecord record, DecodeToken(*raw));
    MV_ASSIGN_OR_RETURN(std::optional<PrincipalRecord> owner,
                        FindPrincipal(txn, dbs, record.principal));
    if (record.principal == kRootPrincipal) {
      MV_RETURN_IF_ERROR(CheckMayTouchHolder(caller, record.principal,
                                             {std::string(kRootPolicy)}));
    } else if (owner) {
      MV_RETURN_IF_ERROR(
          CheckMayTouchHolder(caller, record.principal, owner->policies));
    }
    if (record.principal == kRootPrincipal) {
      // The vault must never be left without an administrator.
      bool other_admin = false;
      absl::Status decode;
      MV_RETURN_IF_ERROR(txn.Scan(
          dbs.principals, "", "", [&](std::string_view k, std::string_view v) {
            if (k == kRootPrincipal) return true;
            absl::StatusOr<PrincipalRecord> p = DecodePrincipal(v);
            if (!p.ok()) return decode = p.status(), false;
            other_admin =
                Evaluate(ResolvePolicies(*policies, p->policies), admin_tokens)
                    .allowed;
            return !other_admin;
          }));
      MV_RETURN_IF_ERROR(decode);
      if (!other_admin) {
        return absl::FailedPreconditionError(
            "create another administrator before revoking the root token");
      }
    }
    MV_RETURN_IF_ERROR(DeleteToken(txn, dbs, hash, accessor));
    return AppendAudit(*audit_, txn, audit);
  });
}

absl::StatusOr<std::string> IdentityStore::MintRootToken(
    std::string_view method) {
  // Offline recovery is audited like the API calls it stands in for.
  AuditRecord audit;
  audit.method = std::string(method);
  audit.decision = AuditDecision::kAllowed;
  audit.action = std::string(ActionName(Action::kAdminPolicies));
  audit.resource = "principal:root";
  audit.reason = "offline recovery";
  // Recovery also restores the root principal's superuser policy.
  MV_RETURN_IF_ERROR(
      AttachPolicy(RootCaller(), kRootPrincipal, kRootPolicy, &audit).status());
  audit.action = std::string(ActionName(Action::kAdminTokens));
  audit.resource.clear();  // CreateToken names the new token
  TokenSpec spec;
  spec.principal = kRootPrincipal;
  MV_ASSIGN_OR_RETURN(IssuedToken issued,
                      CreateToken(RootCaller(), spec, &audit));
  return std::move(issued.token);
}

}  // namespace mv
