#include "client/lib/direct_file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "client/lib/file_sinks.h"
#include "common/status_macros.h"

namespace mvclient {

absl::StatusOr<std::unique_ptr<DirectFileWriter>> DirectFileWriter::New(
    int fd, std::string what, size_t buffer_bytes) {
  std::vector<Buffer> buffers;
  for (size_t i = 0; i < kBuffers; ++i) {
    buffers.emplace_back(
        static_cast<char*>(std::aligned_alloc(kAlignment, buffer_bytes)));
    if (buffers.back() == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "cannot allocate a ", buffer_bytes, "-byte write buffer"));
    }
  }
  return std::unique_ptr<DirectFileWriter>(new DirectFileWriter(
      fd, std::move(what), std::move(buffers), buffer_bytes));
}

DirectFileWriter::DirectFileWriter(int fd, std::string what,
                                   std::vector<Buffer> buffers, size_t capacity)
    : fd_(fd),
      what_(std::move(what)),
      buffers_(std::move(buffers)),
      capacity_(capacity) {
  for (const Buffer& buffer : buffers_) empty_.Push(buffer.get());
  // Not fatal: without O_DIRECT the writer simply goes through the cache.
  SetDirect(true).IgnoreError();
  io_ = std::thread([this] { RunIo(); });
}

DirectFileWriter::~DirectFileWriter() { StopIo().IgnoreError(); }

void DirectFileWriter::RunIo() {
  for (auto block = full_.Pop(); block.has_value(); block = full_.Pop()) {
    io_status_ = WriteOut(block->data, block->size);
    if (!io_status_.ok()) {
      empty_.Close();  // Makes the caller's next Append fail.
      full_.Close();
      return;
    }
    empty_.Push(block->data);
  }
}

// Waits for the queued blocks to be written; returns the first write error.
absl::Status DirectFileWriter::StopIo() {
  full_.Close();
  if (io_.joinable()) io_.join();
  return io_status_;
}

absl::Status DirectFileWriter::Append(absl::string_view data) {
  if (finished_) return absl::FailedPreconditionError("writer finished");
  while (!data.empty()) {
    if (current_ == nullptr) {
      std::optional<char*> buffer = empty_.Pop();
      if (!buffer.has_value()) return StopIo();  // Closed only on error.
      current_ = *buffer;
    }
    size_t n = std::min(data.size(), capacity_ - filled_);
    std::memcpy(current_ + filled_, data.data(), n);
    filled_ += n;
    data.remove_prefix(n);
    if (filled_ == capacity_) {
      full_.Push(Block{current_, filled_});  // Fails only after an error.
      current_ = nullptr;
      filled_ = 0;
    }
  }
  return absl::OkStatus();
}

absl::Status DirectFileWriter::Finish() {
  if (finished_) return absl::FailedPreconditionError("writer finished");
  finished_ = true;
  MV_RETURN_IF_ERROR(StopIo());
  size_t aligned = direct_ ? filled_ - filled_ % kAlignment : filled_;
  MV_RETURN_IF_ERROR(WriteOut(current_, aligned));
  if (aligned == filled_) return absl::OkStatus();
  // A direct write cannot end mid-block; the page cache can.
  MV_RETURN_IF_ERROR(SetDirect(false));
  return WriteOut(current_ + aligned, filled_ - aligned);
}

absl::Status DirectFileWriter::SetDirect(bool on) {
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) {
    flags = on ? flags | O_DIRECT : flags & ~O_DIRECT;
    if (::fcntl(fd_, F_SETFL, flags) == 0) {
      direct_ = on;
      return absl::OkStatus();
    }
  }
  return ErrnoToStatus(errno, absl::StrCat("fcntl O_DIRECT ", what_));
}

absl::Status DirectFileWriter::WriteOut(const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd_, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && direct_) {
        // Refused as direct I/O; the same write through the cache is fine.
        MV_RETURN_IF_ERROR(SetDirect(false));
        continue;
      }
      return ErrnoToStatus(errno, absl::StrCat("write ", what_));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace mvclient
