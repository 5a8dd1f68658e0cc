#include "server/unknown_method_service.h"

#include "absl/strings/str_cat.h"
#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"

namespace mvserver {
namespace {

// Ends the call with `status` without reading the request.
class Answer : public grpc::ServerGenericBidiReactor {
 public:
  explicit Answer(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

// The path as the record keeps it: bytes outside printable ASCII become
// '?', and a long one is cut (the record must stay small and one line).
std::string RecordedPath(const std::string& path) {
  std::string out = path.substr(0, UnknownMethodService::kMaxPathBytes);
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return out;
}

}  // namespace

grpc::ServerGenericBidiReactor* UnknownMethodService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  // The record is committed here, on gRPC's callback thread, before the
  // answer: a call to an unknown method is rare, and its client waits for a
  // group commit like any other caller.
  CallAudit audit(vault_, *context, "");
  const std::string path = RecordedPath(context->method());
  audit.SetMethodPath(path);
  grpc::Status status = [&]() -> grpc::Status {
    MV_GRPC_RETURN_IF_ERROR(
        AuthenticateCall(*vault_, *context, audit).status());
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("unknown method ", path));
  }();
  return new Answer(audit.Finish(status));
}

}  // namespace mvserver
