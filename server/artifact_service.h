// ArtifactServiceImpl: modelvault.v1.ArtifactService on the sync gRPC API.
// Each handler authenticates, converts proto → core, calls one Vault use
// case and maps the status (the TensorFlow Serving / Arrow Flight shape);
// streams are adapted to ArtifactWriter / ArtifactReader. Thread-safe.
#ifndef MODELVAULT_SERVER_ARTIFACT_SERVICE_H_
#define MODELVAULT_SERVER_ARTIFACT_SERVICE_H_

#include <optional>
#include <string_view>

#include "modelvault/v1/artifact.grpc.pb.h"
#include "server/call_audit.h"
#include "server/call_auth.h"
#include "server/stream_limiter.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

// Limits a streaming call is held to.
struct StreamLimits {
  // A stream on which no message moves for this long (a stalled or silent
  // peer, or one that never sends its header) is cancelled with
  // DEADLINE_EXCEEDED, releasing its thread, buffers and LMDB readers.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Upload and Download streams one principal may have open at once, over
  // all its connections; one more fails RESOURCE_EXHAUSTED before anything
  // is read, charged or stored. 0 = no limit. See server/stream_limiter.h.
  uint32_t max_streams_per_principal = 32;
};

// `modelvaultd serve --fingerprint` (vault/download_plan.h).
using mv::FingerprintMode;
using mv::ParseFingerprintMode;

class ArtifactServiceImpl final
    : public modelvault::v1::ArtifactService::Service {
 public:
  // `open_streams` (shared with TraceService: a principal's streams count
  // together) must outlive the service.
  ArtifactServiceImpl(VaultSlot* slot, StreamLimiter* open_streams,
                      StreamLimits limits = {},
                      FingerprintMode fingerprint = FingerprintMode::kAlways)
      : slot_(slot),
        open_streams_(open_streams),
        limits_(limits),
        fingerprint_(fingerprint) {}

  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<modelvault::v1::UploadRequest>* reader,
                      modelvault::v1::UploadResponse* response) override;
  grpc::Status Download(
      grpc::ServerContext* context,
      const modelvault::v1::DownloadRequest* request,
      grpc::ServerWriter<modelvault::v1::DownloadResponse>* writer) override;
  grpc::Status GetVersion(grpc::ServerContext* context,
                          const modelvault::v1::GetVersionRequest* request,
                          modelvault::v1::Version* response) override;
  grpc::Status ListVersions(
      grpc::ServerContext* context,
      const modelvault::v1::ListVersionsRequest* request,
      modelvault::v1::ListVersionsResponse* response) override;
  grpc::Status DeleteVersion(
      grpc::ServerContext* context,
      const modelvault::v1::DeleteVersionRequest* request,
      modelvault::v1::DeleteVersionResponse* response) override;
  grpc::Status SetAlias(grpc::ServerContext* context,
                        const modelvault::v1::SetAliasRequest* request,
                        modelvault::v1::SetAliasResponse* response) override;
  grpc::Status DeleteAlias(
      grpc::ServerContext* context,
      const modelvault::v1::DeleteAliasRequest* request,
      modelvault::v1::DeleteAliasResponse* response) override;

 private:
  // The handlers of the streaming RPCs, inside their CallAudit.
  grpc::Status DoUpload(
      mv::Vault& vault, CallAudit& audit, grpc::ServerContext* context,
      grpc::ServerReader<modelvault::v1::UploadRequest>* reader,
      modelvault::v1::UploadResponse* response);
  grpc::Status DoDownload(
      mv::Vault& vault, CallAudit& audit, grpc::ServerContext* context,
      const modelvault::v1::DownloadRequest& request,
      grpc::ServerWriter<modelvault::v1::DownloadResponse>* writer);
  // An admitted download and how to deliver it: the call admitted, then
  // Vault::PlanDownload.
  struct AdmittedDownload {
    Caller caller;
    mv::DownloadPlan plan;
  };
  absl::StatusOr<AdmittedDownload> AdmitDownload(
      mv::Vault& vault, CallAudit& audit, grpc::ServerContext& context,
      const modelvault::v1::DownloadRequest& request);

  VaultSlot* slot_;
  StreamLimiter* open_streams_;
  const StreamLimits limits_;
  const FingerprintMode fingerprint_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_ARTIFACT_SERVICE_H_
