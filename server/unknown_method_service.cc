#include "server/unknown_method_service.h"

#include "absl/strings/str_cat.h"
#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"

namespace mvserver {
namespace {

// Ends the call, without reading the request, when told its status.
class Reply : public grpc::ServerGenericBidiReactor {
 public:
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

UnknownMethodService::UnknownMethodService(VaultSlot* slot)
    : slot_(slot), worker_([this] { Work(); }) {}

UnknownMethodService::~UnknownMethodService() {
  {
    mv::MutexLock lock(&mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  worker_.join();
}

grpc::ServerGenericBidiReactor* UnknownMethodService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  auto* reply = new Reply;
  bool queued = false;
  {
    mv::MutexLock lock(&mu_);
    if (!stopping_ && waiting_.size() < kMaxWaitingCalls) {
      waiting_.push_back(Call{context, reply});
      queued = true;
    }
  }
  if (queued) {
    wake_.Signal();
  } else {
    reply->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               "server busy: too many calls to unknown "
                               "methods at once"));
  }
  return reply;
}

void UnknownMethodService::Work() {
  mv::MutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && waiting_.empty()) wake_.Wait(mu_);
    if (waiting_.empty()) return;  // stopping, nothing left to answer
    Call call = waiting_.front();
    waiting_.pop_front();
    lock.Release();
    call.reactor->Finish(Answer(*call.context));
    lock.Reacquire();
  }
}

grpc::Status UnknownMethodService::Answer(
    grpc::GenericCallbackServerContext& context) {
  // Sealed: UNAVAILABLE like every method (nothing to audit into), so a
  // client probing paths learns nothing more while sealed.
  absl::StatusOr<std::shared_ptr<mv::Vault>> vault = slot_->Acquire();
  if (!vault.ok()) return ToGrpcStatus(vault.status());
  CallAudit audit(vault->get(), context, "");
  const std::string path = RecordedPath(context.method());
  audit.SetMethodPath(path);
  grpc::Status status = [&]() -> grpc::Status {
    MV_GRPC_RETURN_IF_ERROR(AuthenticateCall(**vault, context, audit).status());
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        absl::StrCat("unknown method ", path));
  }();
  return audit.Finish(status);
}

}  // namespace mvserver
