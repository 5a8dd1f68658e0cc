// Client::Trace: streams a suspect file to TraceService.Trace.
#include <fcntl.h>
#include <grpcpp/channel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "client/lib/client.h"
#include "client/lib/client_internal.h"
#include "client/lib/file_sinks.h"
#include "client/lib/grpc_status.h"
#include "common/idle_watchdog.h"
#include "modelvault/v1/trace.grpc.pb.h"

namespace mvclient {
namespace {

using modelvault::v1::TraceRequest;

// Sends header, chunks and end; false as soon as a write fails (the
// server has ended the call: Finish() says why).
absl::StatusOr<bool> SendFile(int fd, uint64_t size,
                              const std::string& artifact,
                              grpc::ClientWriterInterface<TraceRequest>& stream,
                              mv::IdleWatchdog& watchdog,
                              const ProgressFn& progress) {
  TraceRequest message;
  message.mutable_header()->set_artifact(artifact);
  message.mutable_header()->set_size(size);
  if (!stream.Write(message)) return false;
  std::string buffer(kMaxChunkBytes, '\0');
  uint64_t sent = 0;
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "read");
    if (n == 0) break;
    message.set_chunk(buffer.data(), static_cast<size_t>(n));
    if (!stream.Write(message)) return false;
    sent += static_cast<uint64_t>(n);
    watchdog.Touch();
    if (progress) progress(sent, size);
  }
  if (sent != size) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the file changed while it was sent (", sent, " of ", size, " bytes)"));
  }
  message.mutable_end();
  return stream.Write(message);
}

}  // namespace

absl::StatusOr<TraceResult> Client::Trace(const std::string& path,
                                          const std::string& artifact,
                                          const ProgressFn& progress) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a regular file"));
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto stub = modelvault::v1::TraceService::NewStub(channel_);
  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/false);
  ActiveCall active(*this, ctx);
  // Only while the file moves: scoring on the server sends nothing for as
  // long as it takes.
  auto watchdog = std::make_unique<mv::IdleWatchdog>(
      options_.stream_idle_timeout, [&ctx] { ctx.TryCancel(); });
  modelvault::v1::TraceResponse response;
  auto stream = stub->Trace(&ctx, &response);
  absl::StatusOr<bool> sent = SendFile(fd, static_cast<uint64_t>(st.st_size),
                                       artifact, *stream, *watchdog, progress);
  ::close(fd);
  if (!sent.ok()) {
    ctx.TryCancel();
    (void)stream->Finish();
    return sent.status();
  }
  stream->WritesDone();
  const bool stalled = watchdog->fired();
  watchdog.reset();
  absl::Status status = FromGrpcStatus(stream->Finish());
  if (!status.ok()) return Explain(status, stalled);
  TraceResult result;
  result.report_json = std::move(*response.mutable_report_json());
  result.signature = std::move(*response.mutable_signature());
  result.public_key = std::move(*response.mutable_public_key());
  result.verdict = std::move(*response.mutable_verdict());
  result.artifact = std::move(*response.mutable_artifact());
  return result;
}

}  // namespace mvclient
