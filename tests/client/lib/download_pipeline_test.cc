#include "client/lib/download_pipeline.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "client/lib/file_sinks.h"
#include "test_util.h"

namespace mvclient {
namespace {

namespace fs = std::filesystem;
using modelvault::v1::DownloadRequest;
using modelvault::v1::DownloadResponse;
using testing::Digest;
using testing::FakeDownloadStream;
using testing::MemorySink;
using testing::Pattern;

DownloadResponse Header(const std::string& whole, uint64_t offset,
                        uint64_t length) {
  DownloadResponse msg;
  auto* h = msg.mutable_header();
  h->mutable_version()->set_name("acme/x");
  h->mutable_version()->set_number(1);
  h->mutable_version()->set_size(whole.size());
  h->mutable_version()->set_sha256(Digest(whole));
  h->set_offset(offset);
  h->set_length(length);
  return msg;
}

DownloadResponse Chunk(const std::string& data) {
  DownloadResponse msg;
  msg.set_chunk(data);
  return msg;
}

DownloadResponse Trailer(const std::string& digest) {
  DownloadResponse msg;
  msg.mutable_trailer()->set_sha256(digest);
  return msg;
}

// A well-formed stream of `whole`[offset, offset+length) in 1 MiB chunks.
FakeDownloadStream Stream(const std::string& whole, uint64_t offset = 0,
                          uint64_t length = 0) {
  if (length == 0) length = whole.size() - offset;
  std::string part = whole.substr(offset, length);
  FakeDownloadStream s;
  s.messages.push_back(Header(whole, offset, length));
  for (size_t i = 0; i < part.size(); i += kMaxChunkBytes) {
    s.messages.push_back(Chunk(part.substr(i, kMaxChunkBytes)));
  }
  s.messages.push_back(Trailer(Digest(part)));
  return s;
}

class DownloadPipelineTest : public ::testing::Test {
 protected:
  absl::StatusOr<modelvault::v1::DownloadHeader> Receive(
      FakeDownloadStream& stream, ByteSink& sink, uint64_t offset = 0,
      uint64_t length = 0) {
    DownloadRequest req;
    req.set_ref("acme/x");
    req.set_offset(offset);
    req.set_length(length);
    return ReceiveDownload(
        req, stream, sink,
        [&] {
          cancels_++;
          stream.cancelled = true;
        },
        [&](uint64_t done, uint64_t) { last_progress_ = done; });
  }

  int cancels_ = 0;
  uint64_t last_progress_ = 0;
};

TEST_F(DownloadPipelineTest, DeliversVerifiedBytesAndCommits) {
  std::string data = Pattern(3 * kMaxChunkBytes + 123);
  FakeDownloadStream stream = Stream(data);
  MemorySink sink;
  auto header = Receive(stream, sink);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(sink.data, data);
  EXPECT_TRUE(sink.committed);
  EXPECT_FALSE(sink.aborted);
  EXPECT_EQ(cancels_, 0);
  EXPECT_EQ(last_progress_, data.size());
  EXPECT_EQ(header->version().name(), "acme/x");
}

TEST_F(DownloadPipelineTest, EmptyVersion) {
  FakeDownloadStream stream = Stream("");
  MemorySink sink;
  ASSERT_TRUE(Receive(stream, sink).ok());
  EXPECT_TRUE(sink.committed);
}

TEST_F(DownloadPipelineTest, TrailerMismatchIsDataLossAndAborts) {
  std::string data = Pattern(5000);
  FakeDownloadStream stream = Stream(data);
  stream.messages.back() = Trailer(Digest("something else"));
  MemorySink sink;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(sink.aborted);
  EXPECT_FALSE(sink.committed);
}

TEST_F(DownloadPipelineTest, FlippedBitWithMatchingTrailerFailsVersionDigest) {
  std::string data = Pattern(5000);
  std::string flipped = data;
  flipped[100] ^= 1;
  FakeDownloadStream stream = Stream(data);
  stream.messages[1] = Chunk(flipped);
  stream.messages.back() = Trailer(Digest(flipped));
  MemorySink sink;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(header.status().message().find("version's sha256"),
            absl::string_view::npos);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, ShortStreamIsDataLoss) {
  std::string data = Pattern(2 * kMaxChunkBytes);
  FakeDownloadStream stream = Stream(data);
  stream.messages.erase(stream.messages.begin() + 2);  // drop second chunk
  stream.messages.back() = Trailer(Digest(data.substr(0, kMaxChunkBytes)));
  MemorySink sink;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(header.status().message().find("expected"),
            absl::string_view::npos);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, MoreBytesThanAnnouncedIsDataLoss) {
  std::string data = Pattern(100);
  FakeDownloadStream stream = Stream(data);
  stream.messages.insert(stream.messages.end() - 1, Chunk("extra"));
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cancels_, 1);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, MissingTrailerIsDataLoss) {
  FakeDownloadStream stream = Stream(Pattern(100));
  stream.messages.pop_back();
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, ServerErrorMidStreamWinsOverMissingTrailer) {
  FakeDownloadStream stream = Stream(Pattern(3 * kMaxChunkBytes));
  stream.messages.resize(2);
  stream.status =
      grpc::Status(grpc::StatusCode::DATA_LOSS, "chunk 1 failed to open");
  MemorySink sink;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(header.status().message(), "chunk 1 failed to open");
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, NotFoundBeforeHeaderIsReported) {
  FakeDownloadStream stream;
  stream.status = grpc::Status(grpc::StatusCode::NOT_FOUND, "acme/x@7");
  MemorySink sink;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, StreamMustStartWithHeader) {
  FakeDownloadStream stream = Stream(Pattern(10));
  stream.messages.erase(stream.messages.begin());
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(cancels_, 1);
}

TEST_F(DownloadPipelineTest, DataAfterTrailerIsDataLoss) {
  FakeDownloadStream stream = Stream(Pattern(10));
  stream.messages.push_back(Chunk("late"));
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(sink.aborted);
}

TEST_F(DownloadPipelineTest, OkStatusAfterCleanStreamStillNeedsFinishOk) {
  FakeDownloadStream stream = Stream(Pattern(10));
  stream.status = grpc::Status(grpc::StatusCode::INTERNAL, "audit failed");
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink).status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(sink.aborted);
  EXPECT_FALSE(sink.committed);
}

TEST_F(DownloadPipelineTest, SinkFailureCancelsStreamAndAborts) {
  // Far more chunks than the pipeline holds, so the reader must notice the
  // writer's failure before the stream ends.
  std::string data = Pattern(64 * 1024);
  FakeDownloadStream stream;
  stream.messages.push_back(Header(data, 0, data.size()));
  for (size_t i = 0; i < data.size(); i += 1024) {
    stream.messages.push_back(Chunk(data.substr(i, 1024)));
  }
  stream.messages.push_back(Trailer(Digest(data)));
  MemorySink sink;
  sink.fail_on_write = 1;
  auto header = Receive(stream, sink);
  EXPECT_EQ(header.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(cancels_, 1);
  EXPECT_TRUE(sink.aborted);
  EXPECT_FALSE(sink.committed);
  EXPECT_LT(stream.reads, stream.messages.size());  // stopped reading
}

TEST_F(DownloadPipelineTest, RangeIsVerifiedAgainstTrailerOnly) {
  std::string data = Pattern(3 * kMaxChunkBytes);
  FakeDownloadStream stream = Stream(data, 1000, kMaxChunkBytes + 5);
  MemorySink sink;
  auto header = Receive(stream, sink, 1000, kMaxChunkBytes + 5);
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_EQ(sink.data, data.substr(1000, kMaxChunkBytes + 5));
}

TEST_F(DownloadPipelineTest, RangeHeaderMustMatchRequest) {
  std::string data = Pattern(100);
  FakeDownloadStream stream = Stream(data, 10, 20);
  MemorySink sink;
  EXPECT_EQ(Receive(stream, sink, 11, 20).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST_F(DownloadPipelineTest, FailedPullLeavesNoFileOnDisk) {
  testing::TempDir dir;
  std::string dest = dir.File("model");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok());
  std::string data = Pattern(2 * kMaxChunkBytes + 7);
  FakeDownloadStream stream = Stream(data);
  stream.messages.back() = Trailer(Digest("tampered"));
  EXPECT_EQ(Receive(stream, **sink).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST_F(DownloadPipelineTest, SuccessfulPullPublishesFile) {
  testing::TempDir dir;
  std::string dest = dir.File("model");
  auto sink = PartialFileSink::Create(dest, false);
  ASSERT_TRUE(sink.ok());
  std::string data = Pattern(2 * kMaxChunkBytes + 7);
  FakeDownloadStream stream = Stream(data);
  ASSERT_TRUE(Receive(stream, **sink).ok());
  EXPECT_EQ(testing::ReadFile(dest), data);
  EXPECT_FALSE(fs::exists(dest + ".partial"));
}

}  // namespace
}  // namespace mvclient
