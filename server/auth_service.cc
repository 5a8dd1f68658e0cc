#include "server/auth_service.h"

#include "server/access_convert.h"
#include "server/audited_call.h"

namespace mvserver {

grpc::Status AuthServiceImpl::WhoAmI(
    grpc::ServerContext* context, const modelvault::v1::WhoAmIRequest* request,
    modelvault::v1::WhoAmIResponse* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault&, CallAudit&, const AdmittedCall& call) {
                       ToProto(call.caller.who, response);
                       return grpc::Status::OK;
                     });
}

}  // namespace mvserver
