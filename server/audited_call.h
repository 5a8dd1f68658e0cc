// The one shape of a modelvault.v1 handler that is admitted once, up front
// (every RPC but Upload and Trace, whose first message must be read first):
//
//   grpc::Status Service::X(ServerContext* context, const XRequest* request,
//                           XResponse* response) {
//     return AuditedCall(*slot_, *context, *request,
//                        [&](mv::Vault& vault, CallAudit& audit,
//                            const AdmittedCall& call) {
//                          ...;  // the use case, for call.caller.who
//                          return grpc::Status::OK;
//                        });
//   }
//
// First the vault is taken from the slot (server/vault_slot.h): while it is
// sealed the call ends UNAVAILABLE "vault is sealed (K of M unseal keys
// given)" with no record (the audit log is inside the sealed vault). The
// call holds the vault until it returns, so a Seal meanwhile lets it finish.
// The call's audit record (server/call_audit.h) is opened first, the call is
// admitted (server/call_auth.h: authenticate, range-check, authorize), and
// whatever ends it — refusal, the body's status — is committed before the
// status is returned. The body adds the resource and bytes, and hands
// audit.ForMutation() to a Vault mutation.
#ifndef MODELVAULT_SERVER_AUDITED_CALL_H_
#define MODELVAULT_SERVER_AUDITED_CALL_H_

#include <google/protobuf/message.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <string_view>

#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/rpc_method.h"
#include "server/status_mapping.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

// The method is the one `request`'s type belongs to (server/rpc_method.h).
template <typename Body>
grpc::Status AuditedCall(const VaultSlot& slot, grpc::ServerContext& context,
                         const google::protobuf::Message& request, Body body) {
  absl::StatusOr<std::shared_ptr<mv::Vault>> vault = slot.Acquire();
  if (!vault.ok()) return ToGrpcStatus(vault.status());
  const std::string_view method = RpcMethodOf(request);
  CallAudit audit(vault->get(), context, method);
  absl::StatusOr<AdmittedCall> admitted =
      AdmitCall(**vault, context, method, request, audit);
  if (!admitted.ok()) return audit.Finish(ToGrpcStatus(admitted.status()));
  return audit.Finish(body(**vault, audit, *admitted));
}

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_AUDITED_CALL_H_
