#include "client/lib/upload_pipeline.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "common/xxh3.h"
#include "test_util.h"

namespace mvclient {
namespace {

using modelvault::v1::UploadHeader;
using testing::Digest;
using testing::FakeUploadStream;
using testing::Pattern;

class UploadPipelineTest : public ::testing::Test {
 protected:
  int OpenWith(const std::string& data) {
    std::string path = dir_.File("input");
    std::ofstream(path, std::ios::binary) << data;
    return ::open(path.c_str(), O_RDONLY);
  }

  absl::StatusOr<UploadSummary> Send(int fd, FakeUploadStream& stream,
                                     uint64_t size_hint = 0) {
    UploadHeader header;
    header.set_name("acme/x");
    header.set_expected_size(size_hint);
    return SendUpload(
        fd, header, size_hint, stream, [&] { cancels_++; },
        [&](uint64_t done, uint64_t) { progress_ = done; });
  }

  // Concatenated chunk payloads, checking the message order on the way.
  static std::string Payload(const FakeUploadStream& stream) {
    std::string out;
    for (size_t i = 1; i + 1 < stream.sent.size(); ++i) {
      EXPECT_TRUE(stream.sent[i].has_chunk()) << i;
      EXPECT_LE(stream.sent[i].chunk().size(), kMaxChunkBytes);
      out += stream.sent[i].chunk();
    }
    return out;
  }

  testing::TempDir dir_;
  int cancels_ = 0;
  uint64_t progress_ = 0;
};

TEST_F(UploadPipelineTest, SendsHeaderChunksTrailerInOrder) {
  std::string data = Pattern(2 * kMaxChunkBytes + kMaxChunkBytes / 2);
  int fd = OpenWith(data);
  FakeUploadStream stream;
  auto sent = Send(fd, stream, data.size());
  ::close(fd);
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(stream.sent.size(), 5u);
  EXPECT_TRUE(stream.sent.front().has_header());
  EXPECT_EQ(stream.sent.front().header().name(), "acme/x");
  EXPECT_EQ(stream.sent.front().header().expected_size(), data.size());
  EXPECT_EQ(Payload(stream), data);
  ASSERT_TRUE(stream.sent.back().has_trailer());
  // The checksum of the bytes, and no SHA-256: the server computes that.
  EXPECT_TRUE(stream.sent.back().trailer().has_xxh3_64());
  EXPECT_EQ(stream.sent.back().trailer().xxh3_64(), mv::Xxh3::Of(data));
  EXPECT_EQ(stream.sent.back().trailer().sha256(), "");
  EXPECT_TRUE(stream.writes_done);
  EXPECT_EQ(sent->bytes, data.size());
  EXPECT_EQ(sent->xxh3_64, mv::Xxh3::Of(data));
  EXPECT_EQ(progress_, data.size());
  EXPECT_EQ(cancels_, 0);
}

TEST_F(UploadPipelineTest, ExactMultipleOfChunkSize) {
  std::string data = Pattern(2 * kMaxChunkBytes);
  int fd = OpenWith(data);
  FakeUploadStream stream;
  ASSERT_TRUE(Send(fd, stream).ok());
  ::close(fd);
  EXPECT_EQ(stream.sent.size(), 4u);
  EXPECT_EQ(Payload(stream), data);
}

TEST_F(UploadPipelineTest, EmptyInputSendsHeaderAndTrailerOnly) {
  int fd = OpenWith("");
  FakeUploadStream stream;
  ASSERT_TRUE(Send(fd, stream).ok());
  ::close(fd);
  ASSERT_EQ(stream.sent.size(), 2u);
  EXPECT_TRUE(stream.sent.back().trailer().has_xxh3_64());
  EXPECT_EQ(stream.sent.back().trailer().xxh3_64(), mv::Xxh3::Of(""));
}

TEST_F(UploadPipelineTest, PipeInputIsGatheredIntoFullChunks) {
  std::string data = Pattern(kMaxChunkBytes + 4096);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    for (size_t i = 0; i < data.size(); i += 1000) {
      size_t n = std::min<size_t>(1000, data.size() - i);
      ASSERT_EQ(::write(fds[1], data.data() + i, n), static_cast<ssize_t>(n));
    }
    ::close(fds[1]);
  });
  FakeUploadStream stream;
  auto sent = Send(fds[0], stream);
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_EQ(stream.sent.size(), 4u);
  EXPECT_EQ(stream.sent[1].chunk().size(), kMaxChunkBytes);
  EXPECT_EQ(Payload(stream), data);
}

TEST_F(UploadPipelineTest, ReadErrorCancelsWithoutHalfClose) {
  int fd = ::open(dir_.path().c_str(), O_RDONLY);  // read() -> EISDIR
  FakeUploadStream stream;
  auto sent = Send(fd, stream);
  ::close(fd);
  EXPECT_FALSE(sent.ok());
  EXPECT_EQ(cancels_, 1);
  EXPECT_FALSE(stream.writes_done);
  EXPECT_FALSE(stream.sent.back().has_trailer());
  EXPECT_TRUE(stream.finished);
}

TEST_F(UploadPipelineTest, ServerRejectionMidStreamReturnsServerStatus) {
  std::string data = Pattern(6 * kMaxChunkBytes);
  int fd = OpenWith(data);
  FakeUploadStream stream;
  stream.fail_at = 2;
  stream.status = grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no write");
  auto sent = Send(fd, stream);
  ::close(fd);
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(sent.status().message(), "no write");
  EXPECT_FALSE(stream.writes_done);
}

TEST_F(UploadPipelineTest, RejectedHeaderReturnsServerStatus) {
  int fd = OpenWith("abc");
  FakeUploadStream stream;
  stream.fail_at = 0;
  stream.status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad name");
  auto sent = Send(fd, stream);
  ::close(fd);
  EXPECT_EQ(sent.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(UploadPipelineTest, BrokenStreamWithOkStatusIsStillAnError) {
  std::string data = Pattern(3 * kMaxChunkBytes);
  int fd = OpenWith(data);
  FakeUploadStream stream;
  stream.fail_at = 2;
  auto sent = Send(fd, stream);
  ::close(fd);
  EXPECT_FALSE(sent.ok());
}

}  // namespace
}  // namespace mvclient
