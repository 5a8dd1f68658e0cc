// Identity records the vault keeps: principals, tokens and the caller of a
// request. Stored in LMDB by the Vault (vault/principals.cc, tokens.cc,
// identity_store.cc; layouts in vault/records.h); decisions are made by
// access/policy.h. Plain values: thread-compatible.
#ifndef MODELVAULT_VAULT_IDENTITY_H_
#define MODELVAULT_VAULT_IDENTITY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace mv {

// The kinds of certificate identity (PrincipalInfo::cert_identity), the
// longest identity after its kind (LMDB keys stop at 511 bytes), the longest
// stored one, and how many identities of one certificate are looked up.
inline constexpr std::string_view kCertIdentityUri = "uri:";
inline constexpr std::string_view kCertIdentityCn = "cn:";
inline constexpr size_t kMaxCertIdentityValue = 256;
inline constexpr size_t kMaxCertIdentityKey =
    kCertIdentityUri.size() + kMaxCertIdentityValue;
inline constexpr size_t kMaxCertIdentitiesPerCall = 16;

enum class PrincipalKind : uint8_t { kUser = 1, kService = 2 };

struct PrincipalInfo {
  std::string name;  // [a-z0-9][a-z0-9._@-]{0,63}
  PrincipalKind kind = PrincipalKind::kUser;
  std::vector<std::string> policies;  // sorted, unique, each exists
  // "uri:" + a SAN URI or "cn:" + a subject CN (kind named, so a CN that
  // looks like a URI is never taken for one); "" = none; unique.
  std::string cert_identity;
  int64_t created_at_unix_ms = 0;
};

struct TokenInfo {
  std::string accessor;  // public id, safe to log
  std::string principal;
  std::vector<std::string> policies;  // empty = the principal's policies
  int64_t created_at_unix_ms = 0;
  int64_t expires_at_unix_ms = 0;  // 0 = never
  int64_t uses_left = -1;          // -1 = unlimited
};

// Bounds at the API boundary (docs/ARCHITECTURE.md, "Limits"): a token
// lives at most ten years and counts at most a billion uses; a principal or
// a token names at most 64 policies.
inline constexpr absl::Duration kMaxTokenTtl = absl::Hours(24 * 3650);
inline constexpr int64_t kMaxTokenUses = 1'000'000'000;
inline constexpr size_t kMaxPoliciesPerGrant = 64;

struct TokenSpec {
  std::string principal;
  absl::Duration ttl = absl::ZeroDuration();  // zero = no expiry
  int64_t uses = 0;                           // 0 = unlimited
  std::vector<std::string> policies;          // ⊆ the principal's
};

struct IssuedToken {
  std::string token;  // the only time the plain token exists on the server
  TokenInfo info;
};

// What a request authenticates with. Either or both may be present.
struct Credentials {
  std::optional<std::string> authorization;  // raw "Bearer mvt_..." value
  // The verified client certificate's identities, each "uri:SAN-URI" or
  // "cn:COMMON-NAME"; empty without a certificate. At most one principal
  // may own any of them.
  std::vector<std::string> cert_identities;
  // The client's bare IP ("" for none, e.g. a unix socket): failed
  // authentications are rate limited per address (access/auth_throttle.h).
  std::string peer_ip;
};

// The authenticated caller of one request.
struct Principal {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  std::string token_accessor;  // "" when authenticated by certificate only
  std::string tls_identity;    // the identity that matched; "" without one
  std::vector<std::string> policies;  // effective policies for this request
  int64_t token_expires_at_unix_ms = 0;
  int64_t token_uses_left = -1;
};

inline constexpr char kRootPrincipal[] = "root";

// The root principal acting on its own behalf: what offline commands run
// by the holder of the master key (`modelvaultd init`, `root-token`) and
// tests pass as the caller of an admin use case.
inline Principal RootCaller() {
  Principal root;
  root.name = kRootPrincipal;
  root.policies = {"root"};
  return root;
}

}  // namespace mv

#endif  // MODELVAULT_VAULT_IDENTITY_H_
