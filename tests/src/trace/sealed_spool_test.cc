// The sealed spool a received suspect file is traced from
// (trace/sealed_spool.h): the bytes read back are the bytes appended, the
// file on disk holds none of them in clear, and a block changed on disk
// fails to open instead of feeding the tracer wrong values.
#include "trace/sealed_spool.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "src/trace/traced_version.h"
#include "testing/status_matchers.h"
#include "trace/leak_reader.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

// A fresh directory per test, so the spool is the only file open in it.
class SealedSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/spool.XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    dir_ = std::filesystem::canonical(dir).string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<SealedSpool> Spool(const std::string& bytes,
                                     size_t piece = 1000) {
    auto spool = SealedSpool::Create(dir_, bytes.size());
    EXPECT_THAT(spool, IsOk());
    for (size_t at = 0; at < bytes.size(); at += piece) {
      EXPECT_THAT((*spool)->Append(std::string_view(bytes).substr(at, piece)),
                  IsOk());
    }
    EXPECT_THAT((*spool)->Finish(), IsOk());
    return std::move(*spool);
  }

  // A descriptor of the open, unlinked spool file in dir_ (its /proc link
  // names the directory), to look at what is on disk.
  int SpoolFd() const {
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const std::string target = std::filesystem::read_symlink(fd, ec);
      if (!ec && target.rfind(dir_ + "/", 0) == 0) {
        return ::open(fd.path().c_str(), O_RDWR | O_CLOEXEC);
      }
    }
    return -1;
  }

  std::string OnDisk() const {
    const int fd = SpoolFd();
    EXPECT_GE(fd, 0);
    std::string out;
    char buffer[65536];
    for (ssize_t n; (n = ::pread(fd, buffer, sizeof buffer, out.size())) > 0;)
      out.append(buffer, static_cast<size_t>(n));
    ::close(fd);
    return out;
  }

  std::string dir_;
};

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

TEST_F(SealedSpoolTest, ReadsBackWhatWasAppendedAtAnyRange) {
  const std::string bytes = RandomBytes(3 * SealedSpool::kBlockSize + 123, 1);
  auto spool = Spool(bytes, 777);
  EXPECT_EQ(spool->size(), bytes.size());
  EXPECT_EQ(spool->sha256(), Sha256::Of(bytes));
  std::mt19937 rng(2);
  for (int i = 0; i < 2000; ++i) {
    const size_t at = rng() % bytes.size();
    const size_t n = rng() % std::min<size_t>(bytes.size() - at, 9000);
    std::string out(n, '\0');
    ASSERT_THAT(spool->ReadAt(at, out), IsOk());
    ASSERT_EQ(out, bytes.substr(at, n)) << "at " << at << ", " << n;
  }
  std::string whole(bytes.size(), '\0');
  ASSERT_THAT(spool->ReadAt(0, whole), IsOk());
  EXPECT_EQ(whole, bytes);
}

TEST_F(SealedSpoolTest, NothingOnDiskIsInClear) {
  // A file of one repeated phrase: any plaintext block on disk would hold it.
  std::string bytes;
  while (bytes.size() < 20 * SealedSpool::kBlockSize + 5)
    bytes += "weights of acme/secret ";
  auto spool = Spool(bytes);
  const std::string disk = OnDisk();
  const uint64_t blocks =
      (bytes.size() + SealedSpool::kBlockSize - 1) / SealedSpool::kBlockSize;
  EXPECT_EQ(disk.size(), bytes.size() + blocks * Aead::kOverhead);
  EXPECT_EQ(disk.find("acme/secret"), std::string::npos);
  EXPECT_EQ(disk.find("weights"), std::string::npos);
  // The directory holds no named file.
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

TEST_F(SealedSpoolTest, ABlockChangedOnDiskFailsToOpen) {
  const std::string bytes = RandomBytes(4 * SealedSpool::kBlockSize, 3);
  auto spool = Spool(bytes);
  const int fd = SpoolFd();
  ASSERT_GE(fd, 0);
  const off_t second_block = SealedSpool::kSealedBlockSize + 100;
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, second_block), 1);
  c ^= 1;
  ASSERT_EQ(::pwrite(fd, &c, 1, second_block), 1);
  ::close(fd);
  std::string out(10, '\0');
  EXPECT_THAT(spool->ReadAt(0, out), IsOk());  // the first block is intact
  EXPECT_THAT(spool->ReadAt(SealedSpool::kBlockSize + 5, out),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("changed on disk during the trace (block 1")));
}

TEST_F(SealedSpoolTest, ACutFileFailsToOpen) {
  const std::string bytes = RandomBytes(2 * SealedSpool::kBlockSize + 9, 4);
  auto spool = Spool(bytes);
  const int fd = SpoolFd();
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 2 * SealedSpool::kSealedBlockSize), 0);
  ::close(fd);
  std::string out(9, '\0');
  EXPECT_THAT(spool->ReadAt(2 * SealedSpool::kBlockSize, out),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST_F(SealedSpoolTest, MisuseIsRefused) {
  auto spool = SealedSpool::Create(dir_, 10);
  ASSERT_THAT(spool, IsOk());
  std::string out(1, '\0');
  EXPECT_THAT((*spool)->ReadAt(0, out),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT((*spool)->Append("0123456"), IsOk());
  EXPECT_THAT((*spool)->Finish(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("7 of 10 bytes")));
  EXPECT_THAT((*spool)->Append("789x"),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT((*spool)->Append("789"), IsOk());
  EXPECT_THAT((*spool)->Finish(), IsOk());
  EXPECT_THAT((*spool)->Append("x"),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT((*spool)->ReadAt(9, out), IsOk());
  EXPECT_EQ(out, "9");
  EXPECT_THAT((*spool)->ReadAt(10, out),
              StatusIs(absl::StatusCode::kOutOfRange, ::testing::_));
}

TEST_F(SealedSpoolTest, AFileLargerThanTheFreeSpaceIsRefusedAtOnce) {
  EXPECT_THAT(SealedSpool::Create(dir_, uint64_t{1} << 60),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("not enough free space")));
  EXPECT_THAT(SealedSpool::Create(dir_ + "/missing", 10),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("cannot create a spool file")));
}

// The tracer reads a spooled leak exactly as it reads the same bytes in
// memory: same tensors mapped, same values (GGUF with permuted Q/K rows,
// whose header takes more than one read).
TEST_F(SealedSpoolTest, TracerReadsTheSpoolAsTheBytesInMemory) {
  const trace_testing::Version v(
      mvtesting::Build(mvtesting::LlamaModel("F32", 61)), 5);
  const std::string leak =
      mvtesting::ToLlamaCppGguf(v.Download(3), mvtesting::kLlamaHeadDim, "F16");
  auto spool = Spool(leak, 65536);
  absl::StatusOr<LeakValues> from_disk = ReadLeakFile(v.table(), *spool);
  absl::StatusOr<LeakValues> in_memory = ReadLeakFile(v.table(), leak);
  ASSERT_THAT(from_disk, IsOk());
  ASSERT_THAT(in_memory, IsOk());
  EXPECT_EQ(from_disk->tensors_mapped, 12u);
  EXPECT_EQ(from_disk->tensors_row_permuted, in_memory->tensors_row_permuted);
  ASSERT_EQ(from_disk->samples.size(), in_memory->samples.size());
  for (size_t i = 0; i < in_memory->samples.size(); ++i) {
    EXPECT_EQ(from_disk->samples[i].present, in_memory->samples[i].present);
    EXPECT_EQ(from_disk->samples[i].bits, in_memory->samples[i].bits);
  }
}

// A leak whose spool is changed after it was received is not traced from
// wrong values: the read error reaches the caller.
TEST_F(SealedSpoolTest, TheTracerStopsOnABlockThatDoesNotOpen) {
  const trace_testing::Version v("F32", 7);
  const std::string leak = v.Download(1);
  auto spool = Spool(leak, 65536);
  const int fd = SpoolFd();
  ASSERT_GE(fd, 0);
  // The second half of the file (where many marked positions are) turned
  // into garbage; the header in the first blocks still parses.
  const std::string garbage(SealedSpool::kSealedBlockSize, 'x');
  const uint64_t blocks = leak.size() / SealedSpool::kBlockSize;
  for (uint64_t b = blocks / 2; b < blocks; ++b) {
    ASSERT_EQ(::pwrite(fd, garbage.data(), garbage.size(),
                       static_cast<off_t>(b * SealedSpool::kSealedBlockSize)),
              static_cast<ssize_t>(garbage.size()));
  }
  ::close(fd);
  EXPECT_THAT(ReadLeakFile(v.table(), *spool),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

}  // namespace
}  // namespace mv
