#include "client/lib/token_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/lib/config.h"

namespace mvclient {
namespace {

absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == EACCES || err == EPERM || err == EROFS) {
    return absl::PermissionDeniedError(msg);
  }
  return absl::InternalError(msg);
}

std::string Parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// mkdir -p, giving each directory it creates mode 0700; existing ones are
// left alone.
absl::Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return ErrnoError("cannot create directory", dir, ENOTDIR);
  }
  if (std::string parent = Parent(dir); parent != dir) {
    if (absl::Status s = MakeDirs(parent); !s.ok()) return s;
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("cannot create directory", dir, errno);
  }
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const std::string& data,
                      const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", path, errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return ErrnoError("cannot write", path, errno);
  return absl::OkStatus();
}

// Writes `data` to a new temporary file next to `path` and renames it into
// place. On failure the temporary is removed.
absl::Status ReplaceAtomically(const std::string& path,
                               const std::string& data) {
  std::string tmp = absl::StrCat(path, ".tmp.XXXXXX");
  int fd = ::mkstemp(tmp.data());  // mode 0600, O_EXCL
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  absl::Status status = WriteAll(fd, data, tmp);
  if (::close(fd) != 0 && status.ok()) {
    status = ErrnoError("cannot write", tmp, errno);
  }
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoError("cannot replace", path, errno);
  }
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  // Make the rename durable; a failure here cannot undo it, so ignore it.
  int dir = ::open(Parent(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteTokenFile(const std::string& path, const std::string& token) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "no token file path: set XDG_CONFIG_HOME or HOME");
  }
  if (absl::Status s = CheckTokenShape(token, "the token"); !s.ok()) return s;
  if (absl::Status s = MakeDirs(Parent(path)); !s.ok()) return s;
  return ReplaceAtomically(path, absl::StrCat(token, "\n"));
}

absl::StatusOr<bool> RemoveTokenFile(const std::string& path) {
  if (path.empty()) {
    return absl::InvalidArgumentError(
        "no token file path: set XDG_CONFIG_HOME or HOME");
  }
  if (::unlink(path.c_str()) == 0) return true;
  if (errno == ENOENT) return false;
  return ErrnoError("cannot remove", path, errno);
}

}  // namespace mvclient
