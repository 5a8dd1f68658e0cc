#include "client/lib/upload_pipeline.h"

#include <unistd.h>

#include <cerrno>
#include <thread>

#include "client/lib/file_sinks.h"
#include "client/lib/grpc_status.h"
#include "common/bounded_queue.h"
#include "common/bytes.h"
#include "common/xxh3.h"

namespace mvclient {
namespace {

using modelvault::v1::UploadRequest;

// One message from the reader thread: a filled buffer, or the end (with the
// checksum of everything read, or the read error).
struct ReadItem {
  static ReadItem Data(std::string data) {
    ReadItem item;
    item.data = std::move(data);
    return item;
  }
  static ReadItem End(absl::Status status, uint64_t xxh3_64 = 0) {
    ReadItem item;
    item.end = true;
    item.status = std::move(status);
    item.xxh3_64 = xxh3_64;
    return item;
  }

  std::string data;
  bool end = false;
  absl::Status status;
  uint64_t xxh3_64 = 0;
};

// Fills `buf` from `fd` up to its size; pipes deliver 64 KiB at a time, and
// full chunks keep the message count (and per-message cost) down.
absl::StatusOr<size_t> ReadFull(int fd, std::string& buf) {
  size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoToStatus(errno, "read input");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Reads `fd` into pooled buffers until EOF, folding each into the
// checksum (XXH3 runs at ~9 GB/s: no stage of its own); the last item is
// End, with the checksum or the read error.
void ReadLoop(int fd, mv::BoundedQueue<std::string>& pool,
              mv::BoundedQueue<ReadItem>& filled) {
  mv::Xxh3 checksum;
  for (;;) {
    std::optional<std::string> buf = pool.Pop();
    if (!buf.has_value()) return;  // The sender gave up.
    buf->resize(kMaxChunkBytes);   // No-op after the first use.
    absl::StatusOr<size_t> n = ReadFull(fd, *buf);
    if (!n.ok()) {
      filled.Push(ReadItem::End(n.status()));
      return;
    }
    if (*n > 0) {
      buf->resize(*n);
      checksum.Update(*buf);
      if (!filled.Push(ReadItem::Data(std::move(*buf)))) return;
    }
    if (*n < kMaxChunkBytes) break;
  }
  filled.Push(ReadItem::End(absl::OkStatus(), checksum.Digest()));
}

// Owns the reader thread; closing the queues unblocks it wherever it is.
class Reader {
 public:
  explicit Reader(int fd) : pool_(kUploadBuffers), filled_(kUploadBuffers) {
    for (size_t i = 0; i < kUploadBuffers; ++i) pool_.Push(std::string());
    reader_ = std::thread([this, fd] { ReadLoop(fd, pool_, filled_); });
  }
  ~Reader() {
    pool_.Close();
    filled_.Close();
    reader_.join();
  }
  mv::BoundedQueue<std::string>& pool() { return pool_; }
  mv::BoundedQueue<ReadItem>& filled() { return filled_; }

 private:
  // One more than the pipeline's depth lets the reader start on the next
  // buffer while the sender is inside Write with one.
  static constexpr size_t kUploadBuffers = kPipelineDepth + 1;
  mv::BoundedQueue<std::string> pool_;
  mv::BoundedQueue<ReadItem> filled_;
  std::thread reader_;
};

struct SendResult {
  absl::Status local;          // read failure on our side
  bool stream_broken = false;  // Write failed: the server ended the call
  UploadSummary summary;
};

SendResult SendChunks(Reader& reader,
                      grpc::ClientWriterInterface<UploadRequest>& stream,
                      uint64_t total_hint, const ProgressFn& progress) {
  SendResult result;
  UploadRequest req;
  for (;;) {
    std::optional<ReadItem> item = reader.filled().Pop();
    if (!item.has_value()) {
      result.local = absl::InternalError("upload reader stopped early");
      return result;
    }
    if (item->end) {
      result.local = item->status;
      result.summary.xxh3_64 = item->xxh3_64;
      return result;
    }
    // Lend the buffer to the message instead of copying 1 MiB into it.
    req.mutable_chunk()->swap(item->data);
    bool ok = stream.Write(req, grpc::WriteOptions());
    req.mutable_chunk()->swap(item->data);
    result.summary.bytes += item->data.size();
    reader.pool().Push(std::move(item->data));
    if (!ok) {
      result.stream_broken = true;
      return result;
    }
    if (progress) progress(result.summary.bytes, total_hint);
  }
}

}  // namespace

absl::StatusOr<UploadSummary> SendUpload(
    int fd, const modelvault::v1::UploadHeader& header, uint64_t total_hint,
    grpc::ClientWriterInterface<UploadRequest>& stream, const CancelFn& cancel,
    const ProgressFn& progress) {
  SendResult sent;
  UploadRequest first;
  *first.mutable_header() = header;
  if (!stream.Write(first, grpc::WriteOptions())) {
    sent.stream_broken = true;
  } else {
    if (progress) progress(0, total_hint);
    Reader reader(fd);
    sent = SendChunks(reader, stream, total_hint, progress);
  }
  if (!sent.local.ok()) {
    cancel();  // Never let the server see a clean end of a short upload.
    stream.Finish();
    return sent.local;
  }
  if (!sent.stream_broken) {
    UploadRequest last;
    last.mutable_trailer()->set_xxh3_64(sent.summary.xxh3_64);
    sent.stream_broken =
        !stream.Write(last, grpc::WriteOptions()) || !stream.WritesDone();
  }
  absl::Status server = FromGrpcStatus(stream.Finish());
  if (!server.ok()) return server;
  if (sent.stream_broken) {
    return absl::UnavailableError("upload stream closed before the end");
  }
  return sent.summary;
}

}  // namespace mvclient
