#include "client/lib/download_pipeline.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "client/lib/grpc_status.h"
#include "common/bounded_queue.h"
#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"

namespace mvclient {
namespace {

using modelvault::v1::DownloadHeader;
using modelvault::v1::DownloadRequest;
using modelvault::v1::DownloadResponse;

// Hashes and stores chunks on its own thread. Stop() returns the digest of
// everything written, or the first error (after which chunks are dropped).
class ChunkWriter {
 public:
  explicit ChunkWriter(ByteSink& sink)
      : sink_(sink), queue_(kPipelineDepth), thread_([this] { Run(); }) {}
  ~ChunkWriter() { Stop().IgnoreError(); }

  // False once the writer failed; the reader should stop.
  bool Push(std::string chunk) { return queue_.Push(std::move(chunk)); }

  absl::StatusOr<std::string> Stop() {
    if (thread_.joinable()) {
      queue_.Close();
      thread_.join();
    }
    if (!status_.ok()) return status_;
    return digest_;
  }

 private:
  void Run() {
    mv::Sha256 hasher;
    for (auto chunk = queue_.Pop(); chunk.has_value(); chunk = queue_.Pop()) {
      hasher.Update(*chunk);
      status_ = sink_.Write(*chunk);
      if (!status_.ok()) {
        queue_.Close();  // Makes the reader's next Push fail.
        return;
      }
    }
    digest_ = std::string(mv::AsChars(hasher.Finish()));
  }

  ByteSink& sink_;
  mv::BoundedQueue<std::string> queue_;
  absl::Status status_;  // Written by the thread; read after join.
  std::string digest_;
  std::thread thread_;
};

absl::Status CheckHeader(const DownloadRequest& req, const DownloadHeader& h) {
  const uint64_t size = h.version().size();
  bool ok = h.offset() == req.offset() && h.offset() <= size &&
            h.length() <= size - h.offset() &&
            (req.length() == 0 || h.length() <= req.length());
  if (!ok) {
    return absl::DataLossError(absl::StrCat(
        "server sent a range (offset ", h.offset(), ", length ", h.length(),
        ") that does not match the request or the version size ", size));
  }
  return absl::OkStatus();
}

absl::Status Verify(const DownloadHeader& h, uint64_t received,
                    const std::string& digest, const std::string& trailer) {
  if (received != h.length()) {
    return absl::DataLossError(
        absl::StrCat("received ", received, " bytes, expected ", h.length()));
  }
  if (digest != trailer) {
    return absl::DataLossError(absl::StrCat(
        "sha256 of the received bytes (", mv::ToHex(mv::AsBytes(digest)),
        ") does not match the server's trailer (",
        mv::ToHex(mv::AsBytes(trailer)), ")"));
  }
  // A fingerprinted download differs from the original by design: its
  // trailer's digest (checked above) is what it is verified against.
  bool whole = h.offset() == 0 && h.length() == h.version().size();
  bool original = h.delivery() != modelvault::v1::DELIVERY_FINGERPRINTED;
  if (whole && original && digest != h.version().sha256()) {
    return absl::DataLossError(absl::StrCat(
        "sha256 of the received bytes (", mv::ToHex(mv::AsBytes(digest)),
        ") does not match the version's sha256 (",
        mv::ToHex(mv::AsBytes(h.version().sha256())), ")"));
  }
  return absl::OkStatus();
}

// Reads chunks until the trailer. Returns the trailer digest; on a protocol
// violation or a failed writer returns an error (the stream is then
// abandoned by the caller). `stream_ended` tells whether Read returned false.
absl::StatusOr<std::string> ReadBody(
    grpc::ClientReaderInterface<DownloadResponse>& stream, ChunkWriter& writer,
    const DownloadHeader& header, uint64_t& received, bool& stream_ended,
    const ProgressFn& progress) {
  DownloadResponse msg;
  while (stream.Read(&msg)) {
    if (msg.has_trailer())
      return std::move(*msg.mutable_trailer()->mutable_sha256());
    if (!msg.has_chunk()) {
      return absl::DataLossError("download stream: unexpected second header");
    }
    received += msg.chunk().size();
    if (received > header.length()) {
      return absl::DataLossError("download stream: more bytes than announced");
    }
    std::string chunk;
    msg.mutable_chunk()->swap(chunk);
    if (!writer.Push(std::move(chunk))) return writer.Stop().status();
    if (progress) progress(received, header.length());
  }
  stream_ended = true;
  return absl::DataLossError("download stream ended without a trailer");
}

absl::StatusOr<DownloadHeader> ReceiveAll(
    const DownloadRequest& request,
    grpc::ClientReaderInterface<DownloadResponse>& stream, ByteSink& sink,
    bool& stream_ended, const ProgressFn& progress, std::string* delivered) {
  DownloadResponse msg;
  if (!stream.Read(&msg)) {
    stream_ended = true;
    return absl::DataLossError("download stream ended before its header");
  }
  if (!msg.has_header()) {
    return absl::DataLossError("download stream did not start with a header");
  }
  DownloadHeader header = std::move(*msg.mutable_header());
  MV_RETURN_IF_ERROR(CheckHeader(request, header));
  if (progress) progress(0, header.length());
  ChunkWriter writer(sink);
  uint64_t received = 0;
  MV_ASSIGN_OR_RETURN(
      std::string trailer,
      ReadBody(stream, writer, header, received, stream_ended, progress));
  if (stream.Read(&msg)) {
    return absl::DataLossError("download stream: data after the trailer");
  }
  stream_ended = true;
  MV_ASSIGN_OR_RETURN(std::string digest, writer.Stop());
  MV_RETURN_IF_ERROR(Verify(header, received, digest, trailer));
  if (delivered != nullptr) *delivered = std::move(digest);
  return header;
}

}  // namespace

absl::StatusOr<DownloadHeader> ReceiveDownload(
    const DownloadRequest& request,
    grpc::ClientReaderInterface<DownloadResponse>& stream, ByteSink& sink,
    const CancelFn& cancel, const ProgressFn& progress,
    std::string* delivered_sha256) {
  bool stream_ended = false;
  absl::StatusOr<DownloadHeader> header = ReceiveAll(
      request, stream, sink, stream_ended, progress, delivered_sha256);
  if (!stream_ended) cancel();  // Don't make Finish() wait for the rest.
  absl::Status server = FromGrpcStatus(stream.Finish());
  // The server's reason (NOT_FOUND, DATA_LOSS from a bad chunk...) explains
  // a broken stream better than our "ended without a trailer".
  absl::Status status = !server.ok() && stream_ended ? server : header.status();
  if (status.ok()) status = server;
  if (status.ok()) status = sink.Commit();
  if (!status.ok()) {
    sink.Abort();
    return status;
  }
  return header;
}

}  // namespace mvclient
