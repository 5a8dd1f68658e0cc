// ByteSink implementations backed by file descriptors.
//
// PartialFileSink writes DEST.partial and publishes it with rename(2) only on
// Commit(), after fsync of the file and then of the directory, so a crash or
// failed pull never leaves a truncated or unverified file under DEST. The
// partial is created with O_EXCL (a stale one from an interrupted pull is
// removed first) so we never write through a symlink planted at that name,
// and with mode 0600: these are model weights out of a vault. Bytes go
// through a DirectFileWriter, bypassing the page cache where the file system
// allows (a pull's largest CPU cost otherwise; see direct_file_writer.h).
//
// FdSink streams to an already-open descriptor such as stdout; it cannot
// take bytes back, so a failed verification is reported only by status.
//
// Not thread-safe (see ByteSink).
#ifndef MODELVAULT_CLIENT_LIB_FILE_SINKS_H_
#define MODELVAULT_CLIENT_LIB_FILE_SINKS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/lib/byte_sink.h"
#include "client/lib/direct_file_writer.h"

namespace mvclient {

class PartialFileSink final : public ByteSink {
 public:
  // Opens DEST.partial. Fails with AlreadyExistsError if DEST exists and
  // `overwrite` is false, FailedPreconditionError if DEST is a directory,
  // or an errno-derived error if the partial cannot be created.
  static absl::StatusOr<std::unique_ptr<PartialFileSink>> Create(
      const std::string& dest, bool overwrite);

  ~PartialFileSink() override;  // Aborts unless committed.

  absl::Status Write(absl::string_view data) override;
  absl::Status Commit() override;
  void Abort() override;

  const std::string& partial_path() const { return partial_; }

 private:
  PartialFileSink(std::string dest, std::string partial, int fd,
                  std::unique_ptr<DirectFileWriter> writer, bool overwrite)
      : dest_(std::move(dest)),
        partial_(std::move(partial)),
        fd_(fd),
        writer_(std::move(writer)),
        overwrite_(overwrite) {}
  absl::Status Publish();

  const std::string dest_;
  const std::string partial_;
  int fd_;
  std::unique_ptr<DirectFileWriter> writer_;  // appends to fd_; reset first
  const bool overwrite_;
  bool done_ = false;  // committed or aborted
};

class FdSink final : public ByteSink {
 public:
  // Does not take ownership of `fd`.
  explicit FdSink(int fd) : fd_(fd) {}

  absl::Status Write(absl::string_view data) override;
  absl::Status Commit() override { return absl::OkStatus(); }
  void Abort() override {}

 private:
  const int fd_;
};

// write(2) all of `data`, retrying on EINTR and short writes. `what` names the
// target in error messages.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& what);

// An absl::Status for errno `err` (ENOENT -> NotFound, EACCES/EPERM ->
// PermissionDenied, ENOSPC -> ResourceExhausted, else Internal).
absl::Status ErrnoToStatus(int err, absl::string_view context);

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_FILE_SINKS_H_
