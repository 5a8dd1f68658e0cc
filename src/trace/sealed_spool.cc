#include "trace/sealed_spool.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/bytes.h"
#include "common/status_macros.h"

namespace mv {
namespace {

// Sealed blocks are written in batches of this many bytes.
constexpr size_t kWriteBatch = 256 * SealedSpool::kSealedBlockSize;

absl::Status Errno(int err, const std::string& what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  return err == ENOSPC || err == EDQUOT ? absl::ResourceExhaustedError(message)
                                        : absl::InternalError(message);
}

absl::StatusOr<int> CreateUnlinked(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string path = dir + "/modelvaultd-trace.XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return Errno(errno, "cannot create a spool file in " + dir);
  ::unlink(path.c_str());
  return fd;
}

void Wipe(std::string& s) {
  sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SealedSpool>> SealedSpool::Create(
    const std::string& dir, uint64_t size) {
  MV_ASSIGN_OR_RETURN(SecretKey key, SecretKey::Random());
  MV_ASSIGN_OR_RETURN(int fd, CreateUnlinked(dir));
  auto spool =
      std::unique_ptr<SealedSpool>(new SealedSpool(fd, size, std::move(key)));
  const uint64_t sealed_size =
      size + spool->BlockCount() * (kSealedBlockSize - kBlockSize);
  struct statvfs fs {};
  if (::fstatvfs(fd, &fs) == 0 &&
      static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize < sealed_size) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot spool ", size, " bytes in ", dir, ": not enough free space"));
  }
  return spool;
}

SealedSpool::SealedSpool(int fd, uint64_t size, SecretKey key)
    : fd_(fd), size_(size), cipher_(0, std::move(key)) {}

SealedSpool::~SealedSpool() {
  Wipe(block_);
  for (CachedBlock& c : cache_) Wipe(c.plaintext);
  ::close(fd_);
}

absl::Status SealedSpool::Append(std::string_view data) {
  if (sha256_ || data.size() > size_ - appended_) {
    return absl::FailedPreconditionError(
        absl::StrCat("spool: ", data.size(), " more bytes do not fit a ", size_,
                     "-byte file", sha256_ ? " (already finished)" : ""));
  }
  hash_.Update(data);
  appended_ += data.size();
  while (!data.empty()) {
    const size_t take = std::min(data.size(), kBlockSize - block_.size());
    block_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (block_.size() == kBlockSize) MV_RETURN_IF_ERROR(SealBlock());
  }
  return absl::OkStatus();
}

absl::Status SealedSpool::Finish() {
  if (sha256_) return absl::FailedPreconditionError("spool: already finished");
  if (appended_ != size_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "spool: finished after ", appended_, " of ", size_, " bytes"));
  }
  if (!block_.empty()) MV_RETURN_IF_ERROR(SealBlock());
  MV_RETURN_IF_ERROR(FlushSealed());
  sha256_ = hash_.Finish();
  cache_.resize(kCachedBlocks);
  return absl::OkStatus();
}

absl::Status SealedSpool::SealBlock() {
  const uint64_t index =
      sealed_written_ / kSealedBlockSize + sealed_.size() / kSealedBlockSize;
  std::string sealed;
  cipher_.Seal(index, index + 1 == BlockCount(), AsBytes(block_), &sealed);
  sealed_ += sealed;
  Wipe(block_);
  if (sealed_.size() >= kWriteBatch) return FlushSealed();
  return absl::OkStatus();
}

absl::Status SealedSpool::FlushSealed() {
  std::string_view rest = sealed_;
  while (!rest.empty()) {
    const ssize_t n = ::pwrite(fd_, rest.data(), rest.size(),
                               static_cast<off_t>(sealed_written_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "cannot write the spool file");
    rest.remove_prefix(static_cast<size_t>(n));
    sealed_written_ += static_cast<uint64_t>(n);
  }
  sealed_.clear();
  return absl::OkStatus();
}

absl::Status SealedSpool::OpenBlocks(uint64_t first, uint64_t count) const {
  const uint64_t end = std::min(first + count, BlockCount());
  // One pread for the run: a full read of the file costs one syscall per
  // 256 KiB rather than per block.
  const uint64_t last_length =
      end == BlockCount() ? size_ - (end - 1) * kBlockSize : kBlockSize;
  read_buffer_.resize((end - first - 1) * kSealedBlockSize + last_length +
                      Aead::kOverhead);
  size_t got = 0;
  while (got < read_buffer_.size()) {
    const ssize_t n =
        ::pread(fd_, read_buffer_.data() + got, read_buffer_.size() - got,
                static_cast<off_t>(first * kSealedBlockSize + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "cannot read the spool file");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  for (uint64_t index = first; index < end; ++index) {
    CachedBlock& slot = cache_[index % kCachedBlocks];
    if (slot.index == index) continue;
    const bool final = index + 1 == BlockCount();
    const uint64_t length = final ? size_ - index * kBlockSize : kBlockSize;
    const uint64_t at = (index - first) * kSealedBlockSize;
    slot.index = UINT64_MAX;
    absl::Status opened =
        got >= at + length + Aead::kOverhead
            ? cipher_.Open(index, final, static_cast<uint32_t>(length),
                           AsBytes(std::string_view(read_buffer_)
                                       .substr(at, length + Aead::kOverhead)),
                           &slot.plaintext)
            : absl::DataLossError("");
    if (!opened.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the spooled file changed on disk during the trace (block ", index,
          " does not open)"));
    }
    slot.index = index;
  }
  return absl::OkStatus();
}

absl::Status SealedSpool::ReadAt(uint64_t offset, std::span<char> out) const {
  if (!sha256_) return absl::FailedPreconditionError("spool: not finished");
  if (offset > size_ || out.size() > size_ - offset) {
    return absl::OutOfRangeError(
        absl::StrCat("read of ", out.size(), " bytes at ", offset,
                     " runs past the end of a ", size_, "-byte file"));
  }
  if (out.empty()) return absl::OkStatus();
  const uint64_t last = (offset + out.size() - 1) / kBlockSize;
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = offset + done, index = at / kBlockSize;
    const CachedBlock& slot = cache_[index % kCachedBlocks];
    if (slot.index != index) {
      // A miss opens the blocks this read still needs, a run at a time
      // (never more than the cache holds, so none evicts another).
      MV_RETURN_IF_ERROR(
          OpenBlocks(index, std::min(kReadAheadBlocks, last - index + 1)));
    }
    const size_t from = at % kBlockSize;
    const size_t n = std::min(out.size() - done, slot.plaintext.size() - from);
    std::memcpy(out.data() + done, slot.plaintext.data() + from, n);
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace mv
