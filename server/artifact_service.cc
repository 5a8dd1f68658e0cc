#include "server/artifact_service.h"

#include "absl/strings/str_cat.h"
#include "common/idle_watchdog.h"
#include "server/call_auth.h"
#include "server/proto_convert.h"
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
                      absl::StrCat("stream stalled: nothing moved for ", absl::FormatDuration(idle)));
}

// Feeds the data messages after the header into `writer`; returns the
// client's digest from the trailer, or an error status.
absl::StatusOr<std::string> ReceiveBody(grpc::ServerReader<UploadRequest>* reader,
                                        mv::ArtifactWriter* writer, mv::IdleWatchdog& watchdog) {
  UploadRequest message;
  std::optional<std::string> trailer_sha;
  while (reader->Read(&message)) {
    watchdog.Touch();
    if (trailer_sha) return absl::InvalidArgumentError("data after the upload trailer");
    switch (message.kind_case()) {
      case UploadRequest::kChunk:
        if (absl::Status s = writer->AppendOwned(std::move(*message.mutable_chunk())); !s.ok()) return s;
        break;
      case UploadRequest::kTrailer:
        trailer_sha = message.trailer().sha256();
        break;
      default:
        return absl::InvalidArgumentError("unexpected message in upload stream (second header?)");
    }
  }
  if (!trailer_sha) {
    return absl::InvalidArgumentError("upload stream ended without a trailer; nothing was stored");
  }
  return *trailer_sha;
}

}  // namespace

grpc::Status ArtifactServiceImpl::Upload(grpc::ServerContext* context,
                                         grpc::ServerReader<UploadRequest>* reader,
                                         modelvault::v1::UploadResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  mv::IdleWatchdog watchdog(limits_.idle_timeout, [context] { context->TryCancel(); });
  UploadRequest first;
  if (!reader->Read(&first) || !first.has_header()) {
    if (watchdog.fired()) return Stalled(limits_.idle_timeout);
    return Invalid("upload stream must start with a header");
  }
  watchdog.Touch();
  MV_GRPC_ASSIGN_OR_RETURN(auto writer, vault_->BeginUpload(FromProto(first.header()), who));
  absl::StatusOr<std::string> client_sha = ReceiveBody(reader, writer.get(), watchdog);
  if (watchdog.fired()) return Stalled(limits_.idle_timeout);
  if (!client_sha.ok()) return ToGrpcStatus(client_sha.status());
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  MV_GRPC_ASSIGN_OR_RETURN(mv::VersionInfo info, writer->Commit(*client_sha));
  ToProto(info, response->mutable_version());
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::Download(grpc::ServerContext* context,
                                           const modelvault::v1::DownloadRequest* request,
                                           grpc::ServerWriter<DownloadResponse>* writer) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  MV_GRPC_ASSIGN_OR_RETURN(auto reader,
                           vault_->OpenDownload(request->ref(), request->offset(), request->length()));
  mv::IdleWatchdog watchdog(limits_.idle_timeout, [context] { context->TryCancel(); });
  // A failed Write means the client went away or stopped reading.
  auto gone = [&] { return watchdog.fired() ? Stalled(limits_.idle_timeout) : grpc::Status::CANCELLED; };
  DownloadResponse message;
  auto* header = message.mutable_header();
  ToProto(reader->version(), header->mutable_version());
  header->set_offset(reader->offset());
  header->set_length(reader->length());
  if (!writer->Write(message)) return gone();
  for (;;) {
    MV_GRPC_ASSIGN_OR_RETURN(bool more, reader->Next(message.mutable_chunk()));
    if (!more) break;
    if (!writer->Write(message)) return gone();
    watchdog.Touch();
  }
  message.mutable_trailer()->set_sha256(reader->DeliveredSha256());
  writer->Write(message);
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::GetVersion(grpc::ServerContext* context,
                                             const modelvault::v1::GetVersionRequest* request,
                                             modelvault::v1::Version* response) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  MV_GRPC_ASSIGN_OR_RETURN(mv::VersionInfo info, vault_->GetVersion(request->ref()));
  ToProto(info, response);
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::ListVersions(grpc::ServerContext* context,
                                               const modelvault::v1::ListVersionsRequest* request,
                                               modelvault::v1::ListVersionsResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  MV_GRPC_ASSIGN_OR_RETURN(
      mv::VersionPage page,
      vault_->ListVersions(request->prefix(), request->page_size(), request->page_token()));
  for (const mv::VersionInfo& info : page.versions) ToProto(info, response->add_versions());
  response->set_next_page_token(page.next_page_token);
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::DeleteVersion(grpc::ServerContext* context,
                                                const modelvault::v1::DeleteVersionRequest* request,
                                                modelvault::v1::DeleteVersionResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  MV_GRPC_ASSIGN_OR_RETURN(mv::VersionInfo info, vault_->DeleteVersion(request->ref()));
  ToProto(info, response->mutable_deleted());
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::SetAlias(grpc::ServerContext* context,
                                           const modelvault::v1::SetAliasRequest* request,
                                           modelvault::v1::SetAliasResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  MV_GRPC_ASSIGN_OR_RETURN(mv::VersionInfo info, vault_->SetAlias(request->ref(), request->alias()));
  ToProto(info, response->mutable_version());
  return grpc::Status::OK;
}

grpc::Status ArtifactServiceImpl::DeleteAlias(grpc::ServerContext* context,
                                              const modelvault::v1::DeleteAliasRequest* request,
                                              modelvault::v1::DeleteAliasResponse*) {
  MV_GRPC_ASSIGN_OR_RETURN(mv::Principal who, AuthenticateCall(*vault_, *context));
  return ToGrpcStatus(vault_->DeleteAlias(request->name(), request->alias()));
}

}  // namespace mvserver
