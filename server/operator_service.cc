#include "server/operator_service.h"

#include "server/audited_call.h"
#include "server/call_auth.h"
#include "server/request_limits.h"

namespace mvserver {

namespace v1 = modelvault::v1;

void ToProto(const SealProgress& progress, v1::SealState* out) {
  out->set_sealed(progress.sealed);
  out->set_unlock(progress.by_shares ? "shares" : "key-file");
  out->set_threshold(progress.threshold);
  out->set_shares(progress.shares);
  out->set_progress(progress.given);
  out->set_progress_expires_at_unix_ms(
      progress.given == 0 ? 0 : absl::ToUnixMillis(progress.expires));
}

grpc::Status OperatorServiceImpl::Unseal(grpc::ServerContext* context,
                                         const v1::UnsealRequest* request,
                                         v1::SealState* response) {
  if (slot_->Progress().sealed) {
    MV_GRPC_RETURN_IF_ERROR(CheckRequestLimits(*request));
    absl::StatusOr<SealProgress> progress =
        request->reset()
            ? slot_->ResetProgress()
            : slot_->Unseal(request->key(), PeerIp(context->peer()),
                            context->peer());
    if (!progress.ok()) return ToGrpcStatus(progress.status());
    ToProto(*progress, response);
    return grpc::Status::OK;
  }
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault&, CallAudit&, const AdmittedCall&) {
                       ToProto(slot_->Progress(), response);
                       return grpc::Status::OK;
                     });
}

grpc::Status OperatorServiceImpl::Seal(grpc::ServerContext* context,
                                       const v1::SealRequest* request,
                                       v1::SealResponse* response) {
  // The call holds the vault until its record is committed; the keys are
  // wiped when it and every other call in flight have ended.
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault&, CallAudit&, const AdmittedCall&) -> grpc::Status {
        MV_GRPC_RETURN_IF_ERROR(slot_->Seal());
        ToProto(slot_->Progress(), response->mutable_state());
        return grpc::Status::OK;
      });
}

grpc::Status OperatorServiceImpl::SealStatus(
    grpc::ServerContext* context, const v1::SealStatusRequest* request,
    v1::SealState* response) {
  if (slot_->Progress().sealed) {
    ToProto(slot_->Progress(), response);
    return grpc::Status::OK;
  }
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault&, CallAudit&, const AdmittedCall&) {
                       ToProto(slot_->Progress(), response);
                       return grpc::Status::OK;
                     });
}

}  // namespace mvserver
