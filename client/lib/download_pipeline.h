// Receives a Download RPC (artifact.proto) into a ByteSink and verifies it:
//   DownloadResponse{header{version, offset, length}}, {chunk} x N,
//   {trailer{sha256 of the bytes delivered in this stream}}.
//
// The calling thread stays in gRPC Read; a writer thread hashes each chunk
// and writes it to the sink, fed through a queue of kPipelineDepth chunks,
// so memory is bounded by the chunk size and disk writes overlap the network.
//
// Verification, all of which must pass before the sink is committed:
//   - messages arrive in the order header, chunks, trailer, end of stream;
//   - the header matches the request and lies inside the version;
//   - exactly header.length bytes arrive;
//   - SHA-256 of the delivered bytes equals the trailer's digest, and, when
//     the whole version was delivered unmarked (delivery not
//     FINGERPRINTED), the version's own sha256;
//   - the call ends with status OK.
// Any failure aborts the sink (no partial file is left) and returns the
// error; integrity failures are DATA_LOSS.
//
// Thread-safety: ReceiveDownload() blocks its caller and owns `stream` and
// `sink` for the duration; `progress` runs on the calling thread.
#ifndef MODELVAULT_CLIENT_LIB_DOWNLOAD_PIPELINE_H_
#define MODELVAULT_CLIENT_LIB_DOWNLOAD_PIPELINE_H_

#include <grpcpp/support/sync_stream.h>

#include "absl/status/statusor.h"
#include "client/lib/byte_sink.h"
#include "client/lib/transfer.h"
#include "modelvault/v1/artifact.pb.h"

namespace mvclient {

// Returns the delivered header (version, offset, length) after the sink
// committed, and the verified SHA-256 of the bytes in *delivered_sha256
// (if not null). On any failure the sink has been aborted; `cancel` has
// been called if the stream was abandoned before its end.
absl::StatusOr<modelvault::v1::DownloadHeader> ReceiveDownload(
    const modelvault::v1::DownloadRequest& request,
    grpc::ClientReaderInterface<modelvault::v1::DownloadResponse>& stream,
    ByteSink& sink, const CancelFn& cancel, const ProgressFn& progress,
    std::string* delivered_sha256 = nullptr);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_DOWNLOAD_PIPELINE_H_
