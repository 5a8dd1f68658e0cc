// Per-call authentication and authorization. Every modelvault.v1 handler
// starts here: the call's credentials (`authorization` metadata and, on an
// mTLS listener, the verified client certificate) become a Principal via
// IdentityStore::Authenticate, and the request is decided by
// IdentityStore::Authorize with the action server/method_access.h assigns to
// the RPC.
//
// Why not a grpc::experimental::ServerInterceptor: in gRPC 1.51 an
// interceptor cannot fail a call with a status of its choice (only cancel
// it), and AuthMetadataProcessor does not run on plaintext listeners. One
// function called first by every handler keeps the decision in one place.
//
// Order, so that no status is an existence oracle: authenticate
// (UNAUTHENTICATED), parse the request's name/reference (INVALID_ARGUMENT,
// says nothing about stored data), authorize (PERMISSION_DENIED) — all
// before the handler resolves anything in the vault.
// Thread-safe.
#ifndef MODELVAULT_SERVER_CALL_AUTH_H_
#define MODELVAULT_SERVER_CALL_AUTH_H_

#include <google/protobuf/message.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_context.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/call_audit.h"
#include "vault/vault.h"

namespace mvserver {

// The authenticated caller of one call.
struct Caller {
  mv::Principal who;
  std::string peer_ip;  // bare IP ("" if the transport has none, e.g. unix:)
};

// The caller plus the decision that admitted the request (ChargeDownload
// needs its matching rules; empty for authenticated-only methods).
struct AdmittedCall {
  Caller caller;
  mv::Decision decision;
};

// "ipv4:127.0.0.1:5555" → "127.0.0.1", "ipv6:[::1]:5555" (or its
// percent-encoded form "ipv6:%5B::1%5D:5555") → "::1". "" for any other
// scheme or a malformed peer string.
std::string PeerIp(std::string_view peer);

// The identities of a verified client certificate, each with its kind:
// "uri:" + every URI SAN (e.g. uri:spiffe://acme/trainer), then "cn:" + the
// subject CN; none when the connection is not TLS or carries no client
// certificate. The listener only asks for client certificates when it also
// verifies them against --client-ca (server/listen_address.h), so what is
// here is verified. IdentityStore::Authenticate maps them to one principal.
std::vector<std::string> CertIdentities(const grpc::AuthContext& auth);

// Credentials of the call. UNAUTHENTICATED (kUnauthenticatedMessage) if the
// `authorization` header is present more than once.
absl::StatusOr<mv::Credentials> CallCredentials(
    const grpc::ServerContextBase& context);

// Credentials → Caller, recorded in `audit`. Consumes one use of a
// use-limited token. A failure beyond the address's allowance
// (access/auth_throttle.h) is RESOURCE_EXHAUSTED and only counted in `audit`.
absl::StatusOr<Caller> AuthenticateCall(mv::Vault& vault,
                                        const grpc::ServerContextBase& context,
                                        CallAudit& audit);

// Decides `request` of RPC `method` (full name, "modelvault.v1.X.Y") for
// `caller`. INTERNAL for a method without a row in the access table (deny by
// default), INVALID_ARGUMENT for a field out of its range
// (server/request_limits.h) or a malformed name/reference in the request,
// PERMISSION_DENIED when the policy says no.
// On success `audit` records the admission and the artifact as resource.
// `fingerprinted`: the delivery would carry a fingerprint (policy condition
// require_fingerprint; only downloads ever pass true).
absl::StatusOr<mv::Decision> AuthorizeCall(
    const mv::Vault& vault, const Caller& caller, std::string_view method,
    const google::protobuf::Message& request, CallAudit& audit,
    bool fingerprinted = false);

// Decides `action` on `artifact` for `caller` directly, for a second action
// a request needs beyond its method's (an upload that also sets aliases, an
// exact download's read:exact) or for an artifact found later (a trace).
absl::StatusOr<mv::Decision> AuthorizeAction(const mv::Vault& vault,
                                             const Caller& caller,
                                             mv::Action action,
                                             std::string artifact,
                                             bool fingerprinted = false);

// AuthenticateCall then AuthorizeCall.
absl::StatusOr<AdmittedCall> AdmitCall(mv::Vault& vault,
                                       const grpc::ServerContext& context,
                                       std::string_view method,
                                       const google::protobuf::Message& request,
                                       CallAudit& audit,
                                       bool fingerprinted = false);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_CALL_AUTH_H_
