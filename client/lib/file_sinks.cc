#include "client/lib/file_sinks.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace mvclient {
namespace {

int OpenExclusive(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("open ", dir));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoToStatus(err, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

// rename(2) that fails with EEXIST instead of replacing, when asked to; the
// check in Create() alone would race with another writer.
int RenameFile(const std::string& from, const std::string& to, bool overwrite) {
  if (!overwrite) {
    int rc = ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                         RENAME_NOREPLACE);
    if (rc == 0 || (errno != EINVAL && errno != ENOSYS)) return rc;
  }
  return ::rename(from.c_str(), to.c_str());
}

}  // namespace

absl::Status ErrnoToStatus(int err, absl::string_view context) {
  std::string msg = absl::StrCat(context, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoToStatus(errno, absl::StrCat("write ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PartialFileSink>> PartialFileSink::Create(
    const std::string& dest, bool overwrite) {
  struct stat st;
  if (::stat(dest.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("destination ", dest, " is a directory"));
    }
    if (!overwrite) {
      return absl::AlreadyExistsError(absl::StrCat(
          "destination ", dest, " already exists (use --force to overwrite)"));
    }
  }
  std::string partial = absl::StrCat(dest, ".partial");
  int fd = OpenExclusive(partial);
  if (fd < 0 && errno == EEXIST) {
    // Left over from an interrupted pull: its bytes were never verified.
    if (::unlink(partial.c_str()) != 0 && errno != ENOENT) {
      return ErrnoToStatus(errno, absl::StrCat("remove stale ", partial));
    }
    fd = OpenExclusive(partial);
  }
  if (fd < 0) return ErrnoToStatus(errno, absl::StrCat("create ", partial));
  // O_DIRECT is switched on by the writer with fcntl rather than passed to
  // open(): where it is refused, open(O_CREAT|O_EXCL|O_DIRECT) fails only
  // after creating the file, and a retry without it would then hit EEXIST.
  auto writer = DirectFileWriter::New(fd, partial);
  if (!writer.ok()) {
    ::close(fd);
    ::unlink(partial.c_str());
    return writer.status();
  }
  return std::unique_ptr<PartialFileSink>(new PartialFileSink(
      dest, std::move(partial), fd, *std::move(writer), overwrite));
}

PartialFileSink::~PartialFileSink() { Abort(); }

absl::Status PartialFileSink::Write(absl::string_view data) {
  if (done_) return absl::FailedPreconditionError("sink already finished");
  return writer_->Append(data);
}

absl::Status PartialFileSink::Commit() {
  if (done_) return absl::FailedPreconditionError("sink already finished");
  absl::Status status = Publish();
  if (!status.ok()) Abort();
  done_ = true;
  return status;
}

absl::Status PartialFileSink::Publish() {
  MV_RETURN_IF_ERROR(writer_->Finish());
  // fdatasync covers the data and the size, all a reader needs; direct
  // writes need it too, to flush the device cache and the block allocation.
  if (::fdatasync(fd_) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("fsync ", partial_));
  }
  int fd = fd_;
  fd_ = -1;  // Closed below whatever happens; Abort() must not close it again.
  if (::close(fd) != 0) {
    return ErrnoToStatus(errno, absl::StrCat("close ", partial_));
  }
  if (RenameFile(partial_, dest_, overwrite_) != 0) {
    int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          "destination ", dest_, " already exists (use --force to overwrite)"));
    }
    return ErrnoToStatus(err, absl::StrCat("rename to ", dest_));
  }
  // The rename is only durable once the directory entry is.
  return FsyncDir(ParentDir(dest_));
}

void PartialFileSink::Abort() {
  if (done_) return;
  done_ = true;
  writer_.reset();  // Its I/O thread may still be writing to fd_.
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(partial_.c_str());
}

absl::Status FdSink::Write(absl::string_view data) {
  return WriteAll(fd_, data, "output");
}

}  // namespace mvclient
