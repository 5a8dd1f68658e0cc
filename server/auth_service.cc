#include "server/auth_service.h"

#include "server/access_convert.h"
#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"

namespace mvserver {

grpc::Status AuthServiceImpl::WhoAmI(
    grpc::ServerContext* context, const modelvault::v1::WhoAmIRequest* request,
    modelvault::v1::WhoAmIResponse* response) {
  constexpr char kWhoAmI[] = "modelvault.v1.AuthService.WhoAmI";
  CallAudit audit(vault_, *context, kWhoAmI);
  return audit.Finish([&]() -> grpc::Status {
    MV_GRPC_ASSIGN_OR_RETURN(
        AdmittedCall call,
        AdmitCall(*vault_, *context, kWhoAmI, *request, audit));
    ToProto(call.caller.who, response);
    return grpc::Status::OK;
  }());
}

}  // namespace mvserver
