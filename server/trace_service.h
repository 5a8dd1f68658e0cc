// TraceServiceImpl: modelvault.v1.TraceService (LEAK_TRACING.md, MVFP-1).
// A suspected leak is streamed in, spooled sealed to an unlinked temporary
// file (never held in the heap, never on disk in clear:
// trace/sealed_spool.h), and read back by range by Tracer::TraceLeak; the
// report is signed with the audit signing key (Tracer::SignWithAuditKey).
//
// Access: `trace` on the artifact named in the header, checked before any
// byte is read; with no artifact named, some trace right first, and then
// every tier searches only the artifacts the caller may trace — a match
// elsewhere is the same NOT_FOUND as no match (no existence oracle).
// Audited like every call: resource = the version traced, bytes = the size.
// Thread-safe.
#ifndef MODELVAULT_SERVER_TRACE_SERVICE_H_
#define MODELVAULT_SERVER_TRACE_SERVICE_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "modelvault/v1/trace.grpc.pb.h"
#include "server/call_audit.h"
#include "server/stream_limiter.h"
#include "server/vault_slot.h"
#include "vault/vault.h"

namespace mvserver {

struct TraceSettings {
  // Where suspect files are spooled (as unlinked files: nothing is left
  // behind, whatever happens to the process). "" = $TMPDIR, else /tmp.
  std::string spool_dir;
  // Larger files are refused (RESOURCE_EXHAUSTED) before any byte is read.
  uint64_t max_trace_bytes = uint64_t{256} << 30;
  // As StreamLimits::idle_timeout, for the upload of the suspect file.
  absl::Duration idle_timeout = absl::Seconds(60);
};

// The spool directory `settings` means ("" resolved).
std::string SpoolDir(const TraceSettings& settings);

class TraceServiceImpl final : public modelvault::v1::TraceService::Service {
 public:
  // `open_streams` is the ArtifactService's: a principal's uploads,
  // downloads and traces count together. It must outlive the service.
  TraceServiceImpl(VaultSlot* slot, StreamLimiter* open_streams,
                   TraceSettings settings)
      : slot_(slot),
        open_streams_(open_streams),
        settings_(std::move(settings)) {}

  grpc::Status Trace(grpc::ServerContext* context,
                     grpc::ServerReader<modelvault::v1::TraceRequest>* reader,
                     modelvault::v1::TraceResponse* response) override;

 private:
  grpc::Status DoTrace(mv::Vault& vault, CallAudit& audit,
                       grpc::ServerContext* context,
                       grpc::ServerReader<modelvault::v1::TraceRequest>* reader,
                       modelvault::v1::TraceResponse* response);

  VaultSlot* slot_;
  StreamLimiter* open_streams_;
  const TraceSettings settings_;
};

}  // namespace mvserver

#endif  // MODELVAULT_SERVER_TRACE_SERVICE_H_
