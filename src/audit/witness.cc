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

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat("audit witness ", path, ": cannot ", std::string(what), ": ",
                   std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::vector<Checkpoint>> ParseWitness(
    std::string_view text, std::string_view public_key, size_t* complete_size) {
  const size_t whole = text.rfind('\n') == std::string_view::npos
                           ? 0
                           : text.rfind('\n') + 1;
  if (complete_size != nullptr) *complete_size = whole;
  text = text.substr(0, whole);
  std::vector<Checkpoint> checkpoints;
  for (size_t line_no = 1; !text.empty(); ++line_no) {
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    absl::StatusOr<ExportLine> parsed = ParseExportLine(line);
    if (!parsed.ok() || parsed->is_record ||
        !VerifyCheckpoint(parsed->checkpoint, parsed->signature, public_key)
             .ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "line ", line_no,
          " is not a checkpoint signed by this vault's audit key (a witness "
          "of another vault, or edited)"));
    }
    if (!checkpoints.empty() &&
        parsed->checkpoint.sequence <= checkpoints.back().sequence) {
      return absl::FailedPreconditionError(absl::StrCat(
          "line ", line_no, ": sequence ", parsed->checkpoint.sequence,
          " does not increase (lines reordered or edited)"));
    }
    checkpoints.push_back(std::move(parsed->checkpoint));
  }
  return checkpoints;
}

absl::StatusOr<std::unique_ptr<AuditWitness>> AuditWitness::Open(
    std::string path, std::string_view public_key, Mode mode) {
  const int flags = mode == Mode::kReadOnly ? O_RDONLY | O_CLOEXEC
                    : mode == Mode::kCreate
                        ? O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC
                        : O_RDWR | O_APPEND | O_CLOEXEC;
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0 && errno == ENOENT && mode != Mode::kCreate) {
    return absl::NotFoundError(
        absl::StrCat("audit witness ", path, " does not exist"));
  }
  if (fd < 0) return Errno("open", path);
  std::unique_ptr<AuditWitness> witness(new AuditWitness(path, fd));
  MV_RETURN_IF_ERROR(witness->Load(public_key, mode != Mode::kReadOnly));
  return witness;
}

absl::Status AuditWitness::Load(std::string_view public_key, bool repair) {
  struct stat st;
  if (fstat(fd_, &st) != 0) return Errno("stat", path_);
  std::string text(static_cast<size_t>(st.st_size), '\0');
  if (pread(fd_, text.data(), text.size(), 0) !=
      static_cast<ssize_t>(text.size())) {
    return Errno("read", path_);
  }
  size_t whole = 0;
  absl::StatusOr<std::vector<Checkpoint>> checkpoints =
      ParseWitness(text, public_key, &whole);
  if (!checkpoints.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit witness ", path_, ": ",
                     std::string(checkpoints.status().message())));
  }
  if (repair && whole != text.size() &&
      ftruncate(fd_, static_cast<off_t>(whole)) != 0) {
    return Errno("truncate", path_);
  }
  if (!checkpoints->empty()) last_ = checkpoints->back();
  return absl::OkStatus();
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
