#include "client/lib/direct_file_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace mvclient {
namespace {

namespace fs = std::filesystem;
using testing::Pattern;
using testing::ReadFile;
using testing::TempDir;

constexpr size_t kSmallBuffer = 4 * DirectFileWriter::kAlignment;

// Opens `path` like PartialFileSink does (or with `mode`) and closes it on
// destruction.
class File {
 public:
  explicit File(const std::string& path, int mode = O_WRONLY | O_EXCL)
      : fd_(::open(path.c_str(), mode | O_CREAT | O_CLOEXEC, 0600)) {}
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Appends `data` in pieces of 1, 2, 3... 4999 bytes (then again), so
// appends straddle buffer and block boundaries every possible way.
void AppendInOddPieces(DirectFileWriter& writer, const std::string& data) {
  size_t piece = 1;
  for (size_t pos = 0; pos < data.size(); pos += piece) {
    piece = piece % 4999 + 1;
    ASSERT_TRUE(writer.Append(absl::string_view(data).substr(pos, piece)).ok());
  }
}

// Writes `size` pattern bytes through a writer into a new file in `dir` and
// returns what the file then holds; `direct` reports the writer's mode.
std::string RoundTrip(const fs::path& dir, size_t size, size_t buffer_bytes,
                      bool* direct = nullptr) {
  std::string path = (dir / ("f" + std::to_string(size))).string();
  File file(path);
  EXPECT_GE(file.fd(), 0) << path;
  auto writer = DirectFileWriter::New(file.fd(), path, buffer_bytes);
  EXPECT_TRUE(writer.ok()) << writer.status();
  if (!writer.ok()) return "";
  AppendInOddPieces(**writer, Pattern(size));
  EXPECT_TRUE((*writer)->Finish().ok());
  if (direct != nullptr) *direct = (*writer)->direct();
  return ReadFile(path);
}

const std::vector<size_t>& Sizes() {
  static const std::vector<size_t> sizes = {0,
                                            1,
                                            4095,
                                            4096,
                                            4097,
                                            kSmallBuffer - 1,
                                            kSmallBuffer,
                                            kSmallBuffer + 1,
                                            (size_t{8} << 20) + 3};
  return sizes;
}

TEST(DirectFileWriterTest, FileHoldsExactlyTheAppendedBytes) {
  TempDir dir;
  for (size_t size : Sizes()) {
    EXPECT_EQ(RoundTrip(dir.path(), size, kSmallBuffer), Pattern(size)) << size;
  }
}

TEST(DirectFileWriterTest, DefaultBufferSizeRoundTrips) {
  TempDir dir;
  for (size_t size : {size_t{0}, size_t{4097}, (size_t{8} << 20) + 3}) {
    EXPECT_EQ(
        RoundTrip(dir.path(), size, DirectFileWriter::kDefaultBufferBytes),
        Pattern(size))
        << size;
  }
}

// Whether the file system of `dir` takes an aligned O_DIRECT write, asked of
// the kernel itself rather than of the writer under test.
bool FileSystemTakesDirectWrites(const fs::path& dir) {
  const std::string path = (dir / "o_direct_probe").string();
  const int fd = ::open(
      path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  constexpr size_t kBlock = DirectFileWriter::kAlignment;
  void* block = std::aligned_alloc(kBlock, kBlock);
  std::memset(block, 0, kBlock);
  const bool written =
      ::write(fd, block, kBlock) == static_cast<ssize_t>(kBlock);
  std::free(block);
  ::close(fd);
  fs::remove(path);
  return written;
}

// Skipped, by name, only where the kernel refuses O_DIRECT for the temp dir;
// elsewhere a writer that never turned it on fails here.
TEST(DirectFileWriterTest, UsesDirectIoWhereTheFileSystemAllows) {
  TempDir dir;  // Under TMPDIR; ext4 and xfs accept O_DIRECT.
  if (!FileSystemTakesDirectWrites(dir.path()))
    GTEST_SKIP() << dir.path() << " refuses O_DIRECT";
  const std::string path = dir.File("f");
  File file(path);
  auto writer = DirectFileWriter::New(file.fd(), path, kSmallBuffer);
  ASSERT_TRUE(writer.ok()) << writer.status();
  const std::string data = Pattern(3 * kSmallBuffer + 7);
  AppendInOddPieces(**writer, data);
  EXPECT_TRUE((*writer)->direct());
  EXPECT_NE(::fcntl(file.fd(), F_GETFL) & O_DIRECT, 0);
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(ReadFile(path), data);
}

// tmpfs refused O_DIRECT before Linux 6.6; either way the bytes must match.
TEST(DirectFileWriterTest, WorksOnTmpfs) {
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm";
  std::string tmpl = "/dev/shm/mvclient_test_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  fs::path dir = tmpl;
  for (size_t size : Sizes()) {
    EXPECT_EQ(RoundTrip(dir, size, kSmallBuffer), Pattern(size)) << size;
  }
  fs::remove_all(dir);
}

// A direct write at an unaligned file offset fails with EINVAL, the same
// error a file system without O_DIRECT support gives mid-file.
TEST(DirectFileWriterTest, RefusedDirectWriteFallsBackToBuffered) {
  TempDir dir;
  std::string path = dir.File("f");
  File file(path);
  ASSERT_EQ(::write(file.fd(), "x", 1), 1);
  auto writer = DirectFileWriter::New(file.fd(), path, kSmallBuffer);
  ASSERT_TRUE(writer.ok());
  const std::string data = Pattern(3 * kSmallBuffer + 5);
  AppendInOddPieces(**writer, data);
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_FALSE((*writer)->direct());
  EXPECT_EQ(ReadFile(path), "x" + data);
}

TEST(DirectFileWriterTest, AppendAfterFinishFails) {
  TempDir dir;
  File file(dir.File("f"));
  auto writer = DirectFileWriter::New(file.fd(), "f", kSmallBuffer);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ((*writer)->Append("x").code(),
            absl::StatusCode::kFailedPrecondition);
}

// Appends `size` bytes to a read-only descriptor, where every write fails
// (EBADF), and returns the first error from Append or Finish.
absl::Status WriteToReadOnlyFile(const std::string& path, size_t size) {
  File file(path, O_RDONLY);
  auto writer = DirectFileWriter::New(file.fd(), path, kSmallBuffer);
  if (!writer.ok()) return writer.status();
  absl::Status status = (*writer)->Append(Pattern(size));
  for (int i = 0; i < 2 && status.ok(); ++i) {
    status = (*writer)->Append(Pattern(size));
  }
  return status.ok() ? (*writer)->Finish() : status;
}

TEST(DirectFileWriterTest, WriteErrorIsReported) {
  TempDir dir;
  absl::Status status = WriteToReadOnlyFile(dir.File("f"), 3);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir.File("f")), absl::string_view::npos);
}

// Full buffers are written on the I/O thread; its error must still surface.
TEST(DirectFileWriterTest, BackgroundWriteErrorIsReported) {
  TempDir dir;
  absl::Status status = WriteToReadOnlyFile(dir.File("f"), kSmallBuffer);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(dir.File("f")), absl::string_view::npos);
}

TEST(DirectFileWriterTest, DestroyingWithoutFinishIsSafe) {
  TempDir dir;
  File file(dir.File("f"));
  auto writer = DirectFileWriter::New(file.fd(), "f", kSmallBuffer);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(Pattern(3 * kSmallBuffer + 1)).ok());
  writer->reset();  // Must join the I/O thread before the fd is closed.
}

}  // namespace
}  // namespace mvclient
