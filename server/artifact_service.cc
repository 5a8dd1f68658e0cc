#include "server/artifact_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/idle_watchdog.h"
#include "common/status_macros.h"
#include "server/audited_call.h"
#include "server/call_auth.h"
#include "server/method_access.h"
#include "server/proto_convert.h"
#include "server/request_limits.h"
#include "server/rpc_method.h"
#include "server/status_mapping.h"

namespace mvserver {
namespace {

using modelvault::v1::DownloadResponse;
using modelvault::v1::UploadRequest;

grpc::Status Invalid(const char* message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

grpc::Status Stalled(absl::Duration idle) {
  return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                      absl::StrCat("stream stalled: nothing moved for ",
                                   absl::FormatDuration(idle)));
}

// Feeds the data messages after the header into `writer`; returns the
// client's checks from the trailer, or an error status.
absl::StatusOr<mv::SentChecks> ReceiveBody(
    grpc::ServerReader<UploadRequest>* reader, mv::ArtifactWriter* writer,
    mv::IdleWatchdog& watchdog) {
  UploadRequest message;
  std::optional<mv::SentChecks> trailer;
  while (reader->Read(&message)) {
    watchdog.Touch();
    if (trailer)
      return absl::InvalidArgumentError("data after the upload trailer");
    switch (message.kind_case()) {
      case UploadRequest::kChunk:
        if (absl::Status s =
                writer->AppendOwned(std::move(*message.mutable_chunk()));
            !s.ok())
          return s;
        break;
      case UploadRequest::kTrailer:
        if (absl::Status s = CheckRequestLimits(message); !s.ok()) return s;
        trailer = mv::SentChecks{message.trailer().sha256(), std::nullopt};
        if (message.trailer().has_xxh3_64())
          trailer->xxh3_64 = message.trailer().xxh3_64();
        break;
      default:
        return absl::InvalidArgumentError(
            "unexpected message in upload stream (second header?)");
    }
  }
  if (!trailer) {
    return absl::InvalidArgumentError(
        "upload stream ended without a trailer; nothing was stored");
  }
  return *std::move(trailer);
}

// One page of the versions `caller` may list. The vault's page token names
// the last version it scanned, so a page never ends on a version the caller
// may not see (that would leak its name): scanning goes on until the page is
// full of visible versions or the catalog ends.
}  // namespace

grpc::Status ArtifactServiceImpl::Upload(
    grpc::ServerContext* context, grpc::ServerReader<UploadRequest>* reader,
    modelvault::v1::UploadResponse* response) {
  // Sealed: UNAVAILABLE, before anything is read (and with no audit log to
  // write to). The call holds the vault until it returns.
  MV_GRPC_ASSIGN_OR_RETURN(std::shared_ptr<mv::Vault> vault, slot_->Acquire());
  CallAudit audit(vault.get(), *context,
                  RpcMethodOf<modelvault::v1::UploadRequest>());
  return audit.Finish(DoUpload(*vault, audit, context, reader, response));
}

grpc::Status ArtifactServiceImpl::DoUpload(
    mv::Vault& vault, CallAudit& audit, grpc::ServerContext* context,
    grpc::ServerReader<UploadRequest>* reader,
    modelvault::v1::UploadResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(Caller caller,
                           AuthenticateCall(vault, *context, audit));
  // Counted from here: a stream that never sends its header holds a slot.
  MV_GRPC_ASSIGN_OR_RETURN(StreamLimiter::Slot slot,
                           open_streams_->Acquire(caller.who.name));
  mv::IdleWatchdog watchdog(limits_.idle_timeout,
                            [context] { context->TryCancel(); });
  UploadRequest first;
  if (!reader->Read(&first) || !first.has_header()) {
    if (watchdog.fired()) return Stalled(limits_.idle_timeout);
    return Invalid("upload stream must start with a header");
  }
  watchdog.Touch();
  MV_GRPC_RETURN_IF_ERROR(
      AuthorizeCall(vault, caller, RpcMethodOf(first), first, audit).status());
  // Aliases set on publish move like SetAlias does, so they need `alias` too.
  if (first.header().aliases_size() > 0) {
    MV_GRPC_RETURN_IF_ERROR(AuthorizeAction(vault, caller, mv::Action::kAlias,
                                            first.header().name())
                                .status());
  }
  MV_GRPC_ASSIGN_OR_RETURN(
      auto writer,
      vault.catalog().BeginUpload(FromProto(first.header()), caller.who));
  absl::StatusOr<mv::SentChecks> sent =
      ReceiveBody(reader, writer.get(), watchdog);
  if (watchdog.fired()) return Stalled(limits_.idle_timeout);
  if (!sent.ok()) return ToGrpcStatus(sent.status());
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  // The version and its audit record are published in one transaction.
  MV_GRPC_ASSIGN_OR_RETURN(mv::VersionInfo info,
                           writer->Commit(*sent, audit.ForMutation()));
  ToProto(info, response->mutable_version());
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::Download(
    grpc::ServerContext* context,
    const modelvault::v1::DownloadRequest* request,
    grpc::ServerWriter<DownloadResponse>* writer) {
  MV_GRPC_ASSIGN_OR_RETURN(std::shared_ptr<mv::Vault> vault, slot_->Acquire());
  CallAudit audit(vault.get(), *context,
                  RpcMethodOf<modelvault::v1::DownloadRequest>());
  return audit.Finish(DoDownload(*vault, audit, context, *request, writer));
}

absl::StatusOr<ArtifactServiceImpl::AdmittedDownload>
ArtifactServiceImpl::AdmitDownload(
    mv::Vault& vault, CallAudit& audit, grpc::ServerContext& context,
    const modelvault::v1::DownloadRequest& request) {
  const mv::DownloadAsk ask{request.ref(), request.exact(),
                            request.download_id()};
  MV_ASSIGN_OR_RETURN(
      AdmittedCall call,
      AdmitCall(vault, context, RpcMethodOf(request), request, audit,
                mv::MarksWanted(fingerprint_, ask.exact)));
  audit.SetResource(request.ref());
  absl::StatusOr<mv::DownloadPlan> plan =
      vault.PlanDownload(call.caller.who, call.caller.peer_ip, fingerprint_,
                         ask, std::move(call.decision));
  // An exact pull is refused (PERMISSION_DENIED) only by read:exact itself:
  // past that, its record names the action that admitted it.
  if (ask.exact && (plan.ok() || !absl::IsPermissionDenied(plan.status())))
    audit.SetAdmitted(mv::Action::kReadExact);
  if (!plan.ok()) return plan.status();
  return AdmittedDownload{std::move(call.caller), *std::move(plan)};
}

grpc::Status ArtifactServiceImpl::DoDownload(
    mv::Vault& vault, CallAudit& audit, grpc::ServerContext* context,
    const modelvault::v1::DownloadRequest& request,
    grpc::ServerWriter<DownloadResponse>* writer) {
  MV_GRPC_ASSIGN_OR_RETURN(AdmittedDownload admitted,
                           AdmitDownload(vault, audit, *context, request));
  const mv::Principal& who = admitted.caller.who;
  const mv::DownloadPlan& plan = admitted.plan;
  MV_GRPC_ASSIGN_OR_RETURN(StreamLimiter::Slot slot,
                           open_streams_->Acquire(who.name));
  MV_GRPC_ASSIGN_OR_RETURN(
      auto reader,
      vault.catalog().OpenDownload(plan.version.Ref(), request.offset(),
                                   request.length(), plan.delivery));
  const mv::VersionInfo& version = reader->version();
  audit.SetResource(version.Ref());
  audit.SetDownloadId(plan.delivery.download_id);
  audit.SetDelivery(std::string(mv::DeliveryName(reader->delivery())));
  mv::DownloadRecord download;
  download.serial = version.serial;
  download.download_id = plan.delivery.download_id;
  download.principal = who.name;
  download.started_unix_ms = absl::ToUnixMillis(vault.options().clock->Now());
  download.peer = audit.record().peer;
  download.delivery = reader->delivery();
  // The budget charge, the downloads index entry and the "download started"
  // record commit together, before the first byte: no record, no byte.
  MV_GRPC_RETURN_IF_ERROR(vault.downloads().StartDownload(
      who, plan.decision, reader->length(), download, audit.DownloadStarted(),
      plan.exact ? &*plan.exact : nullptr));
  mv::IdleWatchdog watchdog(limits_.idle_timeout,
                            [context] { context->TryCancel(); });
  // A failed Write means the client went away or stopped reading.
  auto gone = [&] {
    return watchdog.fired() ? Stalled(limits_.idle_timeout)
                            : grpc::Status::CANCELLED;
  };
  DownloadResponse message;
  auto* header = message.mutable_header();
  ToProto(version, header->mutable_version());
  header->set_offset(reader->offset());
  header->set_length(reader->length());
  header->set_download_id(plan.delivery.download_id);
  header->set_delivery(ToProto(reader->delivery()));
  header->set_original_sha256(version.sha256);
  if (!writer->Write(message)) return gone();
  uint64_t sent = 0;
  for (;;) {
    absl::StatusOr<bool> more = reader->Next(message.mutable_chunk());
    if (!more.ok()) {
      audit.SetBytes(sent);
      return ToGrpcStatus(more.status());
    }
    if (!*more) break;
    const size_t size = message.chunk().size();
    if (!writer->Write(message)) {
      audit.SetBytes(sent);
      return gone();
    }
    sent += size;
    watchdog.Touch();
  }
  audit.SetBytes(sent);
  const std::string delivered = reader->DeliveredSha256();
  const bool whole = reader->offset() == 0 && reader->length() == version.size;
  // The trailer completes the pull, so the outcome (and, for a whole file,
  // the digest of what was delivered) is durable before it: without a
  // record the client gets no trailer and keeps nothing.
  if (grpc::Status refused =
          audit.FinishDownload(version.serial, whole ? delivered : "");
      !refused.ok()) {
    return refused;
  }
  message.mutable_trailer()->set_sha256(delivered);
  writer->Write(message);
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::GetVersion(
    grpc::ServerContext* context,
    const modelvault::v1::GetVersionRequest* request,
    modelvault::v1::Version* response) {
  return AuditedCall(*slot_, *context, *request,
                     [&](mv::Vault& vault, CallAudit& audit,
                         const AdmittedCall&) -> grpc::Status {
                       audit.SetResource(request->ref());
                       MV_GRPC_ASSIGN_OR_RETURN(
                           mv::VersionInfo info,
                           vault.catalog().GetVersion(request->ref()));
                       audit.SetResource(info.Ref());
                       ToProto(info, response);
                       return grpc::Status::OK;
                     });
}

grpc::Status ArtifactServiceImpl::ListVersions(
    grpc::ServerContext* context,
    const modelvault::v1::ListVersionsRequest* request,
    modelvault::v1::ListVersionsResponse* response) {
  // Admitted for any authenticated caller: the results are filtered instead.
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit&,
          const AdmittedCall& call) -> grpc::Status {
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::VersionPage page,
            vault.catalog().ListVersionsFor(
                call.caller.who, call.caller.peer_ip, request->prefix(),
                request->page_size(), request->page_token()));
        for (const mv::VersionInfo& info : page.versions)
          ToProto(info, response->add_versions());
        response->set_next_page_token(page.next_page_token);
        return grpc::Status::OK;
      });
}

grpc::Status ArtifactServiceImpl::DeleteVersion(
    grpc::ServerContext* context,
    const modelvault::v1::DeleteVersionRequest* request,
    modelvault::v1::DeleteVersionResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall&) -> grpc::Status {
        audit.SetResource(request->ref());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::Vault::Shredded shredded,
            vault.ShredVersion(request->ref(), *audit.ForMutation()));
        ToProto(shredded.deleted, response->mutable_deleted());
        response->set_certificate_json(shredded.certificate.json);
        response->set_certificate_signature(shredded.certificate.signature);
        return grpc::Status::OK;
      });
}

grpc::Status ArtifactServiceImpl::SetAlias(
    grpc::ServerContext* context,
    const modelvault::v1::SetAliasRequest* request,
    modelvault::v1::SetAliasResponse* response) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall&) -> grpc::Status {
        audit.SetResource(request->ref());
        MV_GRPC_ASSIGN_OR_RETURN(
            mv::VersionInfo info,
            vault.catalog().SetAlias(request->ref(), request->alias(),
                                     audit.ForMutation()));
        ToProto(info, response->mutable_version());
        return grpc::Status::OK;
      });
}

grpc::Status ArtifactServiceImpl::DeleteAlias(
    grpc::ServerContext* context,
    const modelvault::v1::DeleteAliasRequest* request,
    modelvault::v1::DeleteAliasResponse*) {
  return AuditedCall(
      *slot_, *context, *request,
      [&](mv::Vault& vault, CallAudit& audit,
          const AdmittedCall&) -> grpc::Status {
        audit.SetResource(absl::StrCat(request->name(), "@", request->alias()));
        return ToGrpcStatus(vault.catalog().DeleteAlias(
            request->name(), request->alias(), audit.ForMutation()));
      });
}

}  // namespace mvserver
