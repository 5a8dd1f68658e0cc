// A pull's outcome is in the audit log whatever happens to it: a pull the
// client cuts is recorded as aborted with the bytes the server had sent, and
// when the outcome cannot be recorded the client gets no trailer, so it
// cannot complete the file ("no record, no byte" for the end of a pull).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "server/call_audit.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;

constexpr uint32_t kChunk = 64 << 10;
constexpr size_t kSize = 8 << 20;  // far more than gRPC's flow-control window

class DownloadAuditTest : public ::testing::Test {
 protected:
  static TestServerOptions Options(std::shared_ptr<std::atomic<bool>> broken) {
    TestServerOptions options;
    options.chunk_size = kChunk;
    options.audit.fault = [broken]() -> absl::Status {
      if (*broken) return absl::InternalError("injected: disk full");
      return absl::OkStatus();
    };
    return options;
  }
  void SetUp() override {
    ASSERT_TRUE(server_.Upload("acme/big", std::string(kSize, 'w')).ok());
  }

  // The Download records of `download_id`, oldest first.
  std::vector<mv::AuditRecord> RecordsOf(uint64_t download_id) {
    std::vector<mv::AuditRecord> out;
    EXPECT_TRUE(
        server_.vault()
            .audit_log()
            .ScanRecords(1,
                         [&](const mv::AuditRecord& r, std::string_view) {
                           if (r.download_id == download_id) out.push_back(r);
                           return true;
                         })
            .ok());
    return out;
  }

  // A pull of the whole of acme/big@1 (its first message is the header).
  std::unique_ptr<grpc::ClientReader<v1::DownloadResponse>> PullOfBig(
      grpc::ClientContext* context) {
    v1::DownloadRequest request;
    request.set_ref("acme/big@1");
    return server_.stub().Download(context, request);
  }

  std::shared_ptr<std::atomic<bool>> broken_ =
      std::make_shared<std::atomic<bool>>(false);
  TestServer server_{Options(broken_)};
};

TEST_F(DownloadAuditTest, ACutPullIsRecordedAsAbortedWithTheBytesSent) {
  auto context = server_.Context();
  auto stream = PullOfBig(context.get());
  v1::DownloadResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_header());
  const uint64_t id = message.header().download_id();
  ASSERT_NE(id, 0u);
  uint64_t received = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream->Read(&message));
    received += message.chunk().size();
  }
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::CANCELLED);
  // The handler notices the cut at its next write, then records it.
  std::vector<mv::AuditRecord> records;
  for (int i = 0; i < 500 && records.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    records = RecordsOf(id);
  }
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].reason, mvserver::kDownloadStarted);
  const mv::AuditRecord& outcome = records[1];
  EXPECT_EQ(outcome.reason, "download aborted");
  EXPECT_EQ(outcome.status_code, static_cast<uint32_t>(StatusCode::CANCELLED));
  EXPECT_EQ(outcome.resource, "acme/big@1");
  EXPECT_GE(outcome.bytes, received) << "it sent at least what arrived";
  EXPECT_LT(outcome.bytes, kSize) << "and not the whole file";
  EXPECT_EQ(outcome.bytes % kChunk, 0u) << "whole chunks written";
  EXPECT_EQ(outcome.delivered_sha256, "");
}

TEST_F(DownloadAuditTest, WhenTheOutcomeCannotBeRecordedNoTrailerIsSent) {
  auto context = server_.Context();
  auto stream = PullOfBig(context.get());
  v1::DownloadResponse message;
  ASSERT_TRUE(stream->Read(&message));
  ASSERT_TRUE(message.has_header());  // "download started" is committed
  const uint64_t id = message.header().download_id();
  *broken_ = true;
  uint64_t received = 0;
  bool trailer = false;
  while (stream->Read(&message)) {
    received += message.chunk().size();
    trailer = trailer || message.has_trailer();
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::UNAVAILABLE)
      << status.error_message();
  EXPECT_NE(status.error_message().find("audit log"), std::string::npos)
      << status.error_message();
  EXPECT_FALSE(trailer) << "a trailer would let the client keep the file";
  EXPECT_LE(received, kSize);
  *broken_ = false;
  // The index never learnt of a completed delivery; the log holds the start.
  absl::StatusOr<mv::DownloadRecord> indexed =
      server_.vault().downloads().FindDownload(
          server_.vault().catalog().GetVersion("acme/big@1")->serial, id);
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(indexed->delivered_sha256, "");
  const std::vector<mv::AuditRecord> records = RecordsOf(id);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].reason, mvserver::kDownloadStarted);
}

}  // namespace
}  // namespace mvtesting
