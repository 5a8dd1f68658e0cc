// Per-call authentication: every ArtifactService handler starts by turning
// the call's `authorization: Bearer ...` metadata into a Principal here.
//
// Why not a grpc::experimental::ServerInterceptor: in gRPC 1.51 an
// interceptor cannot fail a call with a status of its choice (only cancel
// it), and AuthMetadataProcessor does not run on plaintext listeners. One
// function called first by every handler keeps the decision in one place;
// [access] extends it with mTLS identities and the policy check.
// Thread-safe.
#ifndef MODELVAULT_SERVER_CALL_AUTH_H_
#define MODELVAULT_SERVER_CALL_AUTH_H_

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "vault/vault.h"

namespace mvserver {

absl::StatusOr<mv::Principal> AuthenticateCall(const mv::Vault& vault,
                                               const grpc::ServerContext& context);

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_CALL_AUTH_H_
