#include "server/trace_service.h"

#include <cstdlib>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/idle_watchdog.h"
#include "server/call_auth.h"
#include "server/request_limits.h"
#include "server/rpc_method.h"
#include "server/status_mapping.h"
#include "trace/sealed_spool.h"
#include "vault/reference.h"
#include "vault/trace_report.h"

namespace mvserver {
namespace {

using modelvault::v1::TraceRequest;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Spools the chunks after the header; exactly `size` bytes, then TraceEnd.
grpc::Status ReceiveFile(grpc::ServerReader<TraceRequest>* reader,
                         mv::SealedSpool& spool, uint64_t size,
                         mv::IdleWatchdog& watchdog) {
  TraceRequest message;
  uint64_t received = 0;
  bool ended = false;
  while (reader->Read(&message)) {
    watchdog.Touch();
    if (ended) return Invalid("data after the end of the trace stream");
    switch (message.kind_case()) {
      case TraceRequest::kChunk:
        if (message.chunk().size() > size - received) {
          return Invalid(absl::StrCat("the file is larger than the ", size,
                                      " bytes its header announced"));
        }
        MV_GRPC_RETURN_IF_ERROR(spool.Append(message.chunk()));
        received += message.chunk().size();
        break;
      case TraceRequest::kEnd:
        ended = true;
        break;
      default:
        return Invalid("unexpected message in trace stream (second header?)");
    }
  }
  if (watchdog.fired())
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "stream stalled");
  if (!ended) return Invalid("trace stream ended without its end message");
  if (received != size) {
    return Invalid(absl::StrCat("received ", received,
                                " bytes, but the header announced ", size));
  }
  return ToGrpcStatus(spool.Finish());
}

}  // namespace

std::string SpoolDir(const TraceSettings& settings) {
  if (!settings.spool_dir.empty()) return settings.spool_dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

grpc::Status TraceServiceImpl::Trace(grpc::ServerContext* context,
                                     grpc::ServerReader<TraceRequest>* reader,
                                     modelvault::v1::TraceResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(std::shared_ptr<mv::Vault> vault, slot_->Acquire());
  CallAudit audit(vault.get(), *context,
                  RpcMethodOf<modelvault::v1::TraceRequest>());
  return audit.Finish(DoTrace(*vault, audit, context, reader, response));
}

grpc::Status TraceServiceImpl::DoTrace(
    mv::Vault& vault, CallAudit& audit, grpc::ServerContext* context,
    grpc::ServerReader<TraceRequest>* reader,
    modelvault::v1::TraceResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(Caller caller,
                           AuthenticateCall(vault, *context, audit));
  // The stream slot is taken before the header is read (as uploads do), so
  // streams that never send one cannot pile up under one principal.
  MV_GRPC_ASSIGN_OR_RETURN(StreamLimiter::Slot slot,
                           open_streams_->Acquire(caller.who.name));
  mv::IdleWatchdog watchdog(settings_.idle_timeout,
                            [context] { context->TryCancel(); });
  TraceRequest first;
  if (!reader->Read(&first) || !first.has_header()) {
    if (watchdog.fired())
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "stream stalled");
    return Invalid("trace stream must start with a header");
  }
  watchdog.Touch();
  const modelvault::v1::TraceHeader& header = first.header();
  if (!header.artifact().empty()) {
    MV_GRPC_RETURN_IF_ERROR(
        AuthorizeCall(vault, caller,
                      RpcMethodOf<modelvault::v1::TraceRequest>(), first, audit)
            .status());
  } else {
    // The version is yet to be found; a caller who may trace nothing at
    // all is refused before it can make the server spool and search.
    MV_GRPC_RETURN_IF_ERROR(CheckRequestLimits(first));
    MV_GRPC_RETURN_IF_ERROR(
        vault.identity().MayActOnSomeArtifact(caller.who, mv::Action::kTrace));
  }
  if (header.size() == 0)
    return Invalid("trace header: size is required (the file's size in bytes)");
  if (header.size() > settings_.max_trace_bytes) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("a ", header.size(),
                     "-byte file exceeds the server's limit of ",
                     settings_.max_trace_bytes, " bytes for a trace"));
  }
  audit.SetBytes(header.size());
  // Sealed under a key of this trace alone: the suspect file's weights
  // never reach the disk in clear.
  MV_GRPC_ASSIGN_OR_RETURN(
      auto spool, mv::SealedSpool::Create(SpoolDir(settings_), header.size()));
  if (grpc::Status s = ReceiveFile(reader, *spool, header.size(), watchdog);
      !s.ok())
    return s;
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  // Every tier looks only at what the caller may trace (and, when told an
  // artifact, at that artifact alone): a match elsewhere is no match.
  std::string only;
  if (!header.artifact().empty()) {
    MV_GRPC_ASSIGN_OR_RETURN(mv::Reference told,
                             mv::ParseReference(header.artifact()));
    only = told.name;
  }
  audit.SetAdmitted(mv::Action::kTrace);  // to search within its scope
  MV_GRPC_ASSIGN_OR_RETURN(
      mv::LeakReport report,
      vault.tracer().TraceLeak(
          *spool, header.artifact(),
          vault.tracer().TraceScopeFor(caller.who, caller.peer_ip,
                                       std::move(only))));
  audit.SetResource(report.artifact);
  std::string json = mv::LeakReportJson(report);
  response->set_signature(vault.tracer().SignWithAuditKey(json));
  response->set_public_key(vault.tracer().audit_public_key());
  response->set_verdict(std::string(mv::VerdictName(report.verdict)));
  response->set_artifact(report.artifact);
  response->set_report_json(std::move(json));
  return grpc::Status::OK;
}

}  // namespace mvserver
