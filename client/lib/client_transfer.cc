// Client: push and pull, the streaming calls.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/lib/client.h"
#include "client/lib/client_internal.h"
#include "client/lib/download_pipeline.h"
#include "client/lib/file_sinks.h"
#include "client/lib/upload_pipeline.h"
#include "common/idle_watchdog.h"

namespace mvclient {
namespace {

using modelvault::v1::DownloadHeader;
using modelvault::v1::Version;

// Closes a descriptor we opened when the push returns.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// The watchdog must see every message, the caller only wants progress.
ProgressFn Touching(mv::IdleWatchdog& watchdog, const ProgressFn& progress) {
  return [&watchdog, &progress](uint64_t done, uint64_t total) {
    watchdog.Touch();
    if (progress) progress(done, total);
  };
}

// The server checked our XXH3-64 of the bytes against what it received
// before publishing; the size it reports must be what we sent as well.
absl::Status CheckStored(const Version& v, const UploadSummary& sent) {
  if (v.size() != sent.bytes) {
    return absl::DataLossError(absl::StrCat("server stored ", v.size(),
                                            " bytes but we sent ", sent.bytes));
  }
  return absl::OkStatus();
}

// The server's transient refusal (src/common/memory_budget.cc): nothing was
// stored and the same push may succeed once other pushes finish.
bool IsServerBusy(const absl::Status& s) {
  return s.code() == absl::StatusCode::kResourceExhausted &&
         absl::StartsWith(s.message(), "server busy");
}

}  // namespace

absl::StatusOr<Version> Client::Push(const std::string& path,
                                     const std::string& name,
                                     const PushOptions& options,
                                     const ProgressFn& progress) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open ", path));
  FdCloser closer(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory"));
  }
  if (!S_ISREG(st.st_mode)) return PushFd(fd, 0, name, options, progress);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  // A regular file can be sent again from its start when the server was
  // only busy; a pipe cannot.
  absl::Duration wait = options_.busy_backoff;
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<Version> pushed = PushFd(fd, size, name, options, progress);
    if (pushed.ok() || attempt >= options_.busy_retries ||
        !IsServerBusy(pushed.status()) || ::lseek(fd, 0, SEEK_SET) != 0) {
      return pushed;
    }
    // Up to a quarter more, so clients refused together do not return
    // together.
    const int64_t jitter_ms = absl::ToInt64Milliseconds(wait) / 4 + 1;
    absl::SleepFor(wait + absl::Milliseconds(std::random_device{}() %
                                             static_cast<uint64_t>(jitter_ms)));
    wait *= 2;
  }
}

absl::StatusOr<Version> Client::PushFd(int fd, uint64_t size_hint,
                                       const std::string& name,
                                       const PushOptions& options,
                                       const ProgressFn& progress) {
  modelvault::v1::UploadHeader header;
  header.set_name(name);
  header.mutable_labels()->insert(options.labels.begin(), options.labels.end());
  for (const std::string& alias : options.aliases) header.add_aliases(alias);
  header.set_expected_size(size_hint);
  header.set_format(options.format);

  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/false);
  ActiveCall active(*this, ctx);
  mv::IdleWatchdog watchdog(options_.stream_idle_timeout,
                            [&ctx] { ctx.TryCancel(); });
  modelvault::v1::UploadResponse response;
  auto stream = stub_->Upload(&ctx, &response);
  absl::StatusOr<UploadSummary> sent = SendUpload(
      fd, header, size_hint, *stream, [&ctx] { ctx.TryCancel(); },
      Touching(watchdog, progress));
  if (!sent.ok()) return Explain(sent.status(), watchdog.fired());
  if (absl::Status s = CheckStored(response.version(), *sent); !s.ok()) {
    return s;
  }
  return std::move(*response.mutable_version());
}

absl::StatusOr<Version> Client::Pull(const std::string& ref,
                                     const std::string& dest,
                                     const PullOptions& options,
                                     const ProgressFn& progress) {
  absl::StatusOr<Pulled> pulled = PullDownload(ref, dest, options, progress);
  if (!pulled.ok()) return pulled.status();
  return std::move(*pulled->header.mutable_version());
}

absl::StatusOr<Client::Pulled> Client::PullDownload(
    const std::string& ref, const std::string& dest, const PullOptions& options,
    const ProgressFn& progress) {
  std::unique_ptr<ByteSink> sink;
  if (dest == "-") {
    sink = std::make_unique<FdSink>(STDOUT_FILENO);
  } else {
    auto file = PartialFileSink::Create(dest, options.overwrite);
    if (!file.ok()) return file.status();
    sink = *std::move(file);
  }
  Pulled pulled;
  absl::StatusOr<DownloadHeader> header = ReceiveRange(
      ref, 0, 0, *sink, progress, options.download, &pulled.delivered_sha256);
  if (!header.ok()) return header.status();
  pulled.header = *std::move(header);
  return pulled;
}

absl::StatusOr<DownloadHeader> Client::PullRange(
    const std::string& ref, uint64_t offset, uint64_t length, ByteSink& sink,
    const ProgressFn& progress, const DownloadOptions& download) {
  return ReceiveRange(ref, offset, length, sink, progress, download, nullptr);
}

absl::StatusOr<DownloadHeader> Client::ReceiveRange(
    const std::string& ref, uint64_t offset, uint64_t length, ByteSink& sink,
    const ProgressFn& progress, const DownloadOptions& download,
    std::string* delivered_sha256) {
  modelvault::v1::DownloadRequest req;
  req.set_ref(ref);
  req.set_offset(offset);
  req.set_length(length);
  req.set_download_id(download.download_id);
  req.set_exact(download.exact);

  grpc::ClientContext ctx;
  Prepare(ctx, /*unary=*/false);
  ActiveCall active(*this, ctx);
  mv::IdleWatchdog watchdog(options_.stream_idle_timeout,
                            [&ctx] { ctx.TryCancel(); });
  auto stream = stub_->Download(&ctx, req);
  absl::StatusOr<DownloadHeader> header = ReceiveDownload(
      req, *stream, sink, [&ctx] { ctx.TryCancel(); },
      Touching(watchdog, progress), delivered_sha256);
  if (!header.ok()) return Explain(header.status(), watchdog.fired());
  return header;
}

}  // namespace mvclient
