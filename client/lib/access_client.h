// mvclient::AccessClient — identity and administration calls of modelvault
// (proto/modelvault/v1/access.proto: AuthService and AdminService).
//
// Runs over the channel, credentials and cancellation of an existing Client:
// each call carries the same `authorization` metadata (none when the client
// has no token, e.g. mTLS alone) and the Client's unary deadline, and
// Client::Cancel() fails it with CANCELLED. Results are plain structs; the
// protos stay inside access_client.cc.
//
// Errors are the server's status codes unchanged: UNAUTHENTICATED,
// PERMISSION_DENIED (the admin:* action is not allowed), NOT_FOUND,
// ALREADY_EXISTS, INVALID_ARGUMENT (e.g. a policy document, with the path of
// the bad field), UNAVAILABLE.
//
// Thread-safety: as Client — calls may be made from several threads.
#ifndef MODELVAULT_CLIENT_LIB_ACCESS_CLIENT_H_
#define MODELVAULT_CLIENT_LIB_ACCESS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lib/client.h"
#include "modelvault/v1/access.grpc.pb.h"

namespace mvclient {

enum class PrincipalKind { kUnspecified, kUser, kService };

struct Principal {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUnspecified;
  std::vector<std::string> policies;  // sorted by the server
  std::string cert_identity;  // "uri:SAN-URI" or "cn:COMMON-NAME"; "" = none
  int64_t created_at_unix_ms = 0;
};

struct TokenInfo {
  std::string accessor;  // public id of the token; safe to print and log
  std::string principal;
  std::vector<std::string> policies;  // empty = the principal's policies
  int64_t created_at_unix_ms = 0;
  int64_t expires_at_unix_ms = 0;  // 0 = never
  int64_t uses_left = -1;          // -1 = unlimited
};

// The caller as the server sees it (WhoAmI).
struct Identity {
  std::string principal;
  PrincipalKind kind = PrincipalKind::kUnspecified;
  std::vector<std::string> policies;     // effective for this call
  std::string token_accessor;            // "" = authenticated by certificate
  std::string tls_identity;              // "" = no client certificate
  int64_t token_expires_at_unix_ms = 0;  // 0 = never (or no token)
  int64_t token_uses_left = -1;          // -1 = unlimited (or no token)
};

struct NewPrincipal {
  std::string name;
  PrincipalKind kind = PrincipalKind::kUser;
  std::vector<std::string> policies;  // must exist
  std::string cert_identity;          // "" = none
};

struct TokenRequest {
  std::string principal;
  absl::Duration ttl = absl::ZeroDuration();  // zero = no expiry
  int64_t uses = 0;                           // 0 = unlimited
  std::vector<std::string> policies;  // ⊆ the principal's; empty = all
};

// A newly created token. `token` is the secret: shown once, never logged.
struct IssuedToken {
  std::string token;
  TokenInfo info;
};

struct PolicyDocument {
  std::string name;
  std::string json;  // the server's canonical form
};

// The keyring: what each version protects, and the rotation job.
struct KeyVersion {
  uint32_t version = 0;
  int64_t created_unix_ms = 0;
  bool current = false;
  uint64_t records = 0, data_keys = 0, named_keys = 0;
};
struct KeyStatus {
  std::vector<KeyVersion> versions;
  bool rotation_running = false;
  uint64_t rewrapped_data_keys = 0, resealed_records = 0;
  std::vector<uint32_t> retired;
  std::string last_error;
  uint32_t rotated_to = 0;  // RotateKey
};

class AccessClient {
 public:
  // REQUIRES: client != nullptr. Shares ownership of `client`.
  explicit AccessClient(std::shared_ptr<Client> client);

  absl::StatusOr<Identity> WhoAmI();

  // admin:principals
  absl::StatusOr<Principal> CreatePrincipal(const NewPrincipal& principal);
  absl::StatusOr<std::vector<Principal>> ListPrincipals();
  absl::StatusOr<Principal> GetPrincipal(const std::string& name);
  // Returns how many tokens of the principal were revoked with it.
  absl::StatusOr<uint32_t> DeletePrincipal(const std::string& name);
  absl::StatusOr<Principal> AttachPolicy(const std::string& principal,
                                         const std::string& policy);
  absl::StatusOr<Principal> DetachPolicy(const std::string& principal,
                                         const std::string& policy);

  // admin:tokens
  absl::StatusOr<IssuedToken> CreateToken(const TokenRequest& request);
  // principal "" = every principal's tokens.
  absl::StatusOr<std::vector<TokenInfo>> ListTokens(
      const std::string& principal);
  absl::StatusOr<TokenInfo> LookupToken(const std::string& accessor);
  absl::Status RevokeToken(const std::string& accessor);

  // admin:policies
  absl::StatusOr<PolicyDocument> PutPolicy(const std::string& name,
                                           const std::string& json);
  absl::StatusOr<PolicyDocument> GetPolicy(const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListPolicies();
  absl::Status DeletePolicy(const std::string& name);

  // admin:keys
  absl::StatusOr<KeyStatus> RotateKey();
  absl::StatusOr<KeyStatus> GetKeyStatus();

 private:
  // One unary call with the Client's metadata, deadline and cancellation.
  template <typename Stub, typename Req, typename Resp>
  absl::StatusOr<Resp> Call(Stub& stub,
                            grpc::Status (Stub::*method)(grpc::ClientContext*,
                                                         const Req&, Resp*),
                            const Req& request);

  std::shared_ptr<Client> client_;
  std::unique_ptr<modelvault::v1::AuthService::Stub> auth_;
  std::unique_ptr<modelvault::v1::AdminService::Stub> admin_;
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_ACCESS_CLIENT_H_
