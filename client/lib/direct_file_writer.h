// Appends to a file with O_DIRECT when the file system allows it.
//
// Why: a pull writes gigabytes once and never reads them back, and on the
// target machine copying them through the page cache costs 1.1-1.6 CPU-s of
// kernel time per GiB, on the same two cores the client and server share.
// A direct write moves the bytes from our buffer to the device instead.
//
// O_DIRECT needs the buffer address, the file offset and the length aligned
// to the device's logical block size; kAlignment (4096) covers every common
// device. Appends are gathered in kAlignment-aligned buffers; a full one is
// written by an I/O thread while the caller fills the next, because a direct
// write blocks for the whole device transfer (no write-behind) and the
// caller's thread also hashes the stream. Finish() writes the aligned part of
// what is left directly, then clears O_DIRECT (fcntl F_SETFL) and writes the
// last partial block through the page cache, so the file ends at its true size
// with no padding.
//
// Fallback: when the file system refuses O_DIRECT (fcntl or a direct write
// fails with EINVAL: some FUSE and network file systems, tmpfs before Linux
// 6.6, a descriptor at an unaligned offset) the writer clears the flag and
// carries on with ordinary buffered writes for the rest of the file.
//
// Does not own the descriptor, and does not fsync it: durability is the
// caller's (PartialFileSink's) job; destroy the writer (which stops its I/O
// thread) before closing the descriptor. Not thread-safe: one caller thread.
#ifndef MODELVAULT_CLIENT_LIB_DIRECT_FILE_WRITER_H_
#define MODELVAULT_CLIENT_LIB_DIRECT_FILE_WRITER_H_

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/bounded_queue.h"

namespace mvclient {

class DirectFileWriter {
 public:
  static constexpr size_t kAlignment = 4096;
  // Large writes keep the per-call cost of a direct write small next to the
  // transfer; kBuffers of these are all the memory this adds to a pull.
  static constexpr size_t kDefaultBufferBytes = size_t{4} << 20;
  // One being written, one being filled, two to ride out a slow device
  // write: with only two, a pull stalled now and then (73-82 % of two cores
  // busy, 0.39-0.43 x raw decrypt in 3 of 5 bench runs; with four, 90-92 %
  // and 0.50-0.58 x in 5 of 5).
  static constexpr size_t kBuffers = 4;

  // Prepares to append to `fd` (open for writing; O_DIRECT is switched on
  // here when possible). `what` names the file in error messages.
  // REQUIRES: buffer_bytes is a positive multiple of kAlignment.
  // Returns ResourceExhaustedError if the buffers cannot be allocated.
  static absl::StatusOr<std::unique_ptr<DirectFileWriter>> New(
      int fd, std::string what, size_t buffer_bytes = kDefaultBufferBytes);

  // Waits for blocks already handed to the I/O thread; drops the partly
  // filled buffer. Call Finish() first to keep everything.
  ~DirectFileWriter();
  DirectFileWriter(const DirectFileWriter&) = delete;
  DirectFileWriter& operator=(const DirectFileWriter&) = delete;

  // Appends `data`, blocking while both buffers wait for the disk. Returns
  // an errno-derived error (ResourceExhausted on ENOSPC...) once a write
  // failed, possibly one of an earlier append's bytes.
  absl::Status Append(absl::string_view data);

  // Writes everything still buffered. Afterwards the file holds exactly the
  // appended bytes and Append() fails with FailedPreconditionError.
  absl::Status Finish();

  // Whether writes currently bypass the page cache.
  bool direct() const { return direct_.load(); }

 private:
  struct FreeDeleter {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  using Buffer = std::unique_ptr<char, FreeDeleter>;
  struct Block {
    char* data;
    size_t size;
  };

  DirectFileWriter(int fd, std::string what, std::vector<Buffer> buffers,
                   size_t capacity);
  void RunIo();
  absl::Status StopIo();
  absl::Status SetDirect(bool on);
  absl::Status WriteOut(const char* data, size_t size);

  const int fd_;
  const std::string what_;
  const std::vector<Buffer> buffers_;  // kAlignment-aligned, capacity_ each
  const size_t capacity_;
  char* current_ = nullptr;  // the buffer being filled, if any
  size_t filled_ = 0;
  bool finished_ = false;
  std::atomic<bool> direct_{false};
  mv::BoundedQueue<Block> full_{kBuffers};   // to the I/O thread
  mv::BoundedQueue<char*> empty_{kBuffers};  // back from it; closed on error
  absl::Status io_status_;  // written by the I/O thread, read after join
  std::thread io_;          // last: starts once everything else exists
};

}  // namespace mvclient

#endif  // MODELVAULT_CLIENT_LIB_DIRECT_FILE_WRITER_H_
