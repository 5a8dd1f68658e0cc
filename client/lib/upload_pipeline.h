// Streams a file descriptor to an Upload RPC (artifact.proto):
//   UploadRequest{header}, UploadRequest{chunk} x N (<= 1 MiB),
//   UploadRequest{trailer{xxh3_64 of everything sent}}, WritesDone, Finish.
//
// Two stages overlap: a reader thread reads the descriptor and folds each
// buffer into the checksum (common/xxh3.h says why not SHA-256), while the
// calling thread is inside gRPC Write with the buffer before. Buffers
// circulate through a small pool, so memory is bounded by the chunk size,
// not the file size.
//
// If reading fails the call is cancelled before the half-close: the server
// must never see a clean end of stream for a short artifact.
//
// Thread-safety: SendUpload() blocks its caller and owns `stream` for the
// duration; `progress` runs on the calling thread.
#ifndef MODELVAULT_CLIENT_LIB_UPLOAD_PIPELINE_H_
#define MODELVAULT_CLIENT_LIB_UPLOAD_PIPELINE_H_

#include <grpcpp/support/sync_stream.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/transfer.h"
#include "modelvault/v1/artifact.pb.h"

namespace mvclient {

struct UploadSummary {
  uint64_t bytes = 0;
  uint64_t xxh3_64 = 0;  // of everything sent (common/xxh3.h)
};

// Sends `header`, then the bytes of `fd` until EOF, then the trailer, then
// finishes the call. `total_hint` (0 = unknown) is only passed to progress.
// Returns the summary when the server accepted the upload (its response is
// in the UploadResponse bound to `stream`); the local read error if reading
// failed; otherwise the server's status.
absl::StatusOr<UploadSummary> SendUpload(
    int fd, const modelvault::v1::UploadHeader& header, uint64_t total_hint,
    grpc::ClientWriterInterface<modelvault::v1::UploadRequest>& stream,
    const CancelFn& cancel, const ProgressFn& progress);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_UPLOAD_PIPELINE_H_
