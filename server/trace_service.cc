#include "server/trace_service.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/idle_watchdog.h"
#include "server/call_auth.h"
#include "server/status_mapping.h"
#include "vault/reference.h"
#include "vault/trace_report.h"

namespace mvserver {
namespace {

using modelvault::v1::TraceRequest;

constexpr char kTrace[] = "modelvault.v1.TraceService.Trace";

absl::Status Errno(int err, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  return err == ENOSPC || err == EDQUOT ? absl::ResourceExhaustedError(message)
                                        : absl::InternalError(message);
}

// A file with no name: created unlinked (O_TMPFILE, else mkstemp + unlink)
// so that nothing of a suspect file outlives the call, then mapped read-only.
class SpoolFile {
 public:
  static absl::StatusOr<std::unique_ptr<SpoolFile>> Create(
      const std::string& dir, uint64_t size) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::string path = dir + "/modelvaultd-trace.XXXXXX";
      fd = ::mkostemp(path.data(), O_CLOEXEC);
      if (fd < 0) return Errno(errno, "cannot create a spool file in " + dir);
      ::unlink(path.c_str());
    }
    auto file = std::unique_ptr<SpoolFile>(new SpoolFile(fd, size));
    // Nothing is reserved: the spool grows with the bytes received, so a
    // header announcing a huge file costs nothing until the bytes come. A
    // file that cannot fit in the free space now is refused at once.
    struct statvfs fs {};
    if (::fstatvfs(fd, &fs) == 0 &&
        static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < size) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot spool ", size, " bytes in ", dir, ": not enough free space"));
    }
    return file;
  }
  ~SpoolFile() {
    if (map_ != MAP_FAILED) ::munmap(map_, size_);
    ::close(fd_);
  }

  absl::Status Append(std::string_view data) {
    while (!data.empty()) {
      ssize_t n =
          ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(written_));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno(errno, "cannot write the spool file");
      data.remove_prefix(static_cast<size_t>(n));
      written_ += static_cast<uint64_t>(n);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string_view> Map() {
    map_ = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (map_ == MAP_FAILED) return Errno(errno, "cannot map the spool file");
    ::madvise(map_, size_, MADV_SEQUENTIAL);
    return std::string_view(static_cast<const char*>(map_), size_);
  }

 private:
  SpoolFile(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  size_t size_;
  uint64_t written_ = 0;
  void* map_ = MAP_FAILED;
};

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Spools the chunks after the header; exactly `size` bytes, then TraceEnd.
grpc::Status ReceiveFile(grpc::ServerReader<TraceRequest>* reader,
                         SpoolFile& spool, uint64_t size,
                         mv::IdleWatchdog& watchdog) {
  TraceRequest message;
  uint64_t received = 0;
  bool ended = false;
  while (reader->Read(&message)) {
    watchdog.Touch();
    if (ended) return Invalid("data after the end of the trace stream");
    switch (message.kind_case()) {
      case TraceRequest::kChunk:
        if (message.chunk().size() > size - received) {
          return Invalid(absl::StrCat("the file is larger than the ", size,
                                      " bytes its header announced"));
        }
        MV_GRPC_RETURN_IF_ERROR(spool.Append(message.chunk()));
        received += message.chunk().size();
        break;
      case TraceRequest::kEnd:
        ended = true;
        break;
      default:
        return Invalid("unexpected message in trace stream (second header?)");
    }
  }
  if (watchdog.fired())
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "stream stalled");
  if (!ended) return Invalid("trace stream ended without its end message");
  if (received != size) {
    return Invalid(absl::StrCat("received ", received,
                                " bytes, but the header announced ", size));
  }
  return grpc::Status::OK;
}

}  // namespace

std::string SpoolDir(const TraceSettings& settings) {
  if (!settings.spool_dir.empty()) return settings.spool_dir;
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
}

grpc::Status TraceServiceImpl::Trace(grpc::ServerContext* context,
                                     grpc::ServerReader<TraceRequest>* reader,
                                     modelvault::v1::TraceResponse* response) {
  CallAudit audit(vault_, *context, kTrace);
  return audit.Finish(DoTrace(audit, context, reader, response));
}

grpc::Status TraceServiceImpl::DoTrace(
    CallAudit& audit, grpc::ServerContext* context,
    grpc::ServerReader<TraceRequest>* reader,
    modelvault::v1::TraceResponse* response) {
  MV_GRPC_ASSIGN_OR_RETURN(Caller caller,
                           AuthenticateCall(*vault_, *context, audit));
  // The stream slot is taken before the header is read (as uploads do), so
  // streams that never send one cannot pile up under one principal.
  MV_GRPC_ASSIGN_OR_RETURN(StreamLimiter::Slot slot,
                           open_streams_->Acquire(caller.who.name));
  mv::IdleWatchdog watchdog(settings_.idle_timeout,
                            [context] { context->TryCancel(); });
  TraceRequest first;
  if (!reader->Read(&first) || !first.has_header()) {
    if (watchdog.fired())
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "stream stalled");
    return Invalid("trace stream must start with a header");
  }
  watchdog.Touch();
  const modelvault::v1::TraceHeader& header = first.header();
  if (!header.artifact().empty()) {
    MV_GRPC_RETURN_IF_ERROR(
        AuthorizeCall(*vault_, caller, kTrace, first, audit).status());
  } else {
    // The version is yet to be found; a caller who may trace nothing at
    // all is refused before it can make the server spool and search.
    MV_GRPC_RETURN_IF_ERROR(
        vault_->MayActOnSomeArtifact(caller.who, mv::Action::kTrace));
  }
  if (header.size() == 0)
    return Invalid("trace header: size is required (the file's size in bytes)");
  if (header.size() > settings_.max_trace_bytes) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("a ", header.size(),
                     "-byte file exceeds the server's limit of ",
                     settings_.max_trace_bytes, " bytes for a trace"));
  }
  audit.SetBytes(header.size());
  MV_GRPC_ASSIGN_OR_RETURN(
      auto spool, SpoolFile::Create(SpoolDir(settings_), header.size()));
  if (grpc::Status s = ReceiveFile(reader, *spool, header.size(), watchdog);
      !s.ok())
    return s;
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  MV_GRPC_ASSIGN_OR_RETURN(std::string_view leak, spool->Map());
  // Every tier looks only at what the caller may trace (and, when told an
  // artifact, at that artifact alone): a match elsewhere is no match.
  std::string only;
  if (!header.artifact().empty()) {
    MV_GRPC_ASSIGN_OR_RETURN(mv::Reference told,
                             mv::ParseReference(header.artifact()));
    only = told.name;
  }
  audit.SetAdmitted(mv::Action::kTrace);  // to search within its scope
  MV_GRPC_ASSIGN_OR_RETURN(
      mv::LeakReport report,
      vault_->TraceLeak(
          leak, header.artifact(),
          vault_->TraceScopeFor(caller.who, caller.peer_ip, std::move(only))));
  audit.SetResource(report.artifact);
  std::string json = mv::LeakReportJson(report);
  response->set_signature(vault_->SignWithAuditKey(json));
  response->set_public_key(vault_->audit_public_key());
  response->set_verdict(std::string(mv::VerdictName(report.verdict)));
  response->set_artifact(report.artifact);
  response->set_report_json(std::move(json));
  return grpc::Status::OK;
}

}  // namespace mvserver
