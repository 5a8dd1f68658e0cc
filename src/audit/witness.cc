#include "audit/witness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "audit/audit_export.h"
#include "common/status_macros.h"

namespace mv {
namespace {

// A checkpoint line is ~300 bytes; the newest complete one is in the tail.
constexpr off_t kTailBytes = 64 * 1024;

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("audit witness ", path, ": cannot ", std::string(what), ": ",
                   std::strerror(errno)));
}

// Reads the file's tail and drops a torn last line (no '\n'), truncating the
// file so the next append starts on a fresh line. Returns the last line.
absl::StatusOr<std::string> LastCompleteLine(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno("stat", path);
  const off_t start = st.st_size > kTailBytes ? st.st_size - kTailBytes : 0;
  std::string tail(static_cast<size_t>(st.st_size - start), '\0');
  if (pread(fd, tail.data(), tail.size(), start) !=
      static_cast<ssize_t>(tail.size())) {
    return Errno("read", path);
  }
  const size_t end = tail.rfind('\n');
  const size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep != tail.size()) {
    if (start > 0 && keep == 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "audit witness ", path, ": the last 64 KiB hold no complete line"));
    }
    if (ftruncate(fd, start + static_cast<off_t>(keep)) != 0)
      return Errno("truncate", path);
  }
  if (keep == 0) return std::string();
  const size_t begin = tail.rfind('\n', keep - 2);
  return tail.substr(begin == std::string::npos ? 0 : begin + 1,
                     keep - 1 - (begin == std::string::npos ? 0 : begin + 1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditWitness>> AuditWitness::Open(
    std::string path, std::string_view public_key) {
  const int fd =
      ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", path);
  std::unique_ptr<AuditWitness> witness(new AuditWitness(path, fd));
  MV_ASSIGN_OR_RETURN(std::string line, LastCompleteLine(fd, path));
  if (line.empty()) return witness;
  absl::StatusOr<ExportLine> parsed = ParseExportLine(line);
  const bool signed_checkpoint =
      parsed.ok() && !parsed->is_record &&
      VerifyCheckpoint(parsed->checkpoint, parsed->signature, public_key).ok();
  if (!signed_checkpoint) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit witness ", path,
                     ": its last line is not a checkpoint signed by this "
                     "vault's audit key (a witness of "
                     "another vault, or edited); move it aside only if you are "
                     "sure the data dir is current"));
  }
  witness->last_ = parsed->checkpoint;
  return witness;
}

AuditWitness::~AuditWitness() { ::close(fd_); }

absl::Status AuditWitness::Append(const Checkpoint& c,
                                  std::string_view signature) {
  const std::string line = CheckpointToJsonLine(c, signature) + "\n";
  // O_APPEND: one write() of a short line lands whole at the end.
  if (::write(fd_, line.data(), line.size()) !=
          static_cast<ssize_t>(line.size()) ||
      ::fdatasync(fd_) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "audit witness ", path_, ": cannot append: ", std::strerror(errno)));
  }
  last_ = c;
  return absl::OkStatus();
}

std::string DefaultWitnessPath(std::string_view data_dir) {
  std::string dir(data_dir);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".audit-witness";
}

absl::Status CheckWitnessOutside(std::string_view witness,
                                 std::string_view data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path w = fs::absolute(fs::path(witness), ec).lexically_normal();
  const fs::path d = fs::absolute(fs::path(data_dir), ec).lexically_normal();
  const fs::path rel = w.lexically_relative(d);
  if (!rel.empty() && *rel.begin() != ".." && rel != ".") {
    return absl::InvalidArgumentError(absl::StrCat(
        "the audit witness ", std::string(witness),
        " must not be inside the data dir ", std::string(data_dir),
        " (a restored data dir would bring its witness back with it)"));
  }
  if (rel == ".") {
    return absl::InvalidArgumentError(absl::StrCat(
        "the audit witness ", std::string(witness), " is the data dir itself"));
  }
  return absl::OkStatus();
}

}  // namespace mv
