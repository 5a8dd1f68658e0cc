// Leak tracing through the real server (issue #5): fingerprinted, exact and
// resumed downloads, the --fingerprint modes and require_fingerprint,
// format checks at upload, and TraceService.Trace with its signed report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "common/bytes.h"
#include "crypto/sha256.h"
#include "server/access_setup.h"
#include "server/test_server.h"
#include "src/trace/trace_test_models.h"
#include "testing/temp_dir.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;
using testing::HasSubstr;
using testing::Not;

std::string Sha(const std::string& bytes) {
  return std::string(mv::AsChars(mv::Sha256::Of(bytes)));
}

std::string ModelFile(uint64_t seed = 1) {
  return Build(SyntheticModel("F32", seed));
}

// The outcome record of download `id` (reason "download finished").
std::optional<mv::AuditRecord> Outcome(TestServer& server, uint64_t id) {
  std::optional<mv::AuditRecord> found;
  EXPECT_TRUE(server.vault()
                  .audit_log()
                  .ScanRecords(1,
                               [&](const mv::AuditRecord& r, std::string_view) {
                                 if (r.download_id == id &&
                                     r.reason == "download finished")
                                   found = r;
                                 return true;
                               })
                  .ok());
  return found;
}

class FingerprintServiceTest : public testing::Test {
 protected:
  explicit FingerprintServiceTest(TestServerOptions options = {})
      : server_(std::move(options)) {}
  void SetUp() override {
    ASSERT_TRUE(server_.Upload("acme/model", model_, &marked_).ok());
    ASSERT_TRUE(
        server_.Upload("acme/blob", RandomBytes(300000, 9), &blob_).ok());
  }
  std::string Reader(const std::string& name,
                     const std::string& actions = R"("read")") {
    absl::StatusOr<std::string> token = AddPrincipalWithPolicy(
        server_.vault(), name, AllowJson("acme/**", actions));
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  TestServer server_;
  const std::string model_ = ModelFile();
  v1::Version marked_, blob_;
};

TEST_F(FingerprintServiceTest, AMarkableUploadIsReportedMarked) {
  EXPECT_EQ(marked_.format(), v1::FORMAT_SAFETENSORS);
  EXPECT_TRUE(marked_.fingerprint().markable());
  EXPECT_GT(marked_.fingerprint().positions(), 0u);
  EXPECT_EQ(marked_.fingerprint().tensors(), 10u);
  EXPECT_FALSE(blob_.fingerprint().markable());
  EXPECT_EQ(blob_.fingerprint().unmarked_reason(), "stored as a blob");
}

TEST_F(FingerprintServiceTest,
       FingerprintedPullsDifferFromTheOriginalAndFromEachOther) {
  DownloadResult a = server_.Download("acme/model@1");
  DownloadResult b = server_.Download("acme/model@1");
  ASSERT_TRUE(a.status.ok()) << a.status.error_message();
  ASSERT_TRUE(b.status.ok()) << b.status.error_message();
  EXPECT_EQ(a.header.delivery(), v1::DELIVERY_FINGERPRINTED);
  EXPECT_EQ(a.header.original_sha256(), Sha(model_));
  EXPECT_EQ(a.bytes.size(), model_.size());
  EXPECT_NE(a.bytes, model_);
  EXPECT_EQ(a.trailer_sha256, Sha(a.bytes));
  EXPECT_NE(a.header.download_id(), 0u);
  EXPECT_NE(a.header.download_id(), b.header.download_id());
  EXPECT_NE(a.bytes, b.bytes);
  EXPECT_EQ(b.trailer_sha256, Sha(b.bytes));
  // The outcome records the delivery and the digest of what was sent.
  std::optional<mv::AuditRecord> r = Outcome(server_, a.header.download_id());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->delivery, "fingerprinted");
  EXPECT_EQ(r->delivered_sha256, absl::BytesToHexString(a.trailer_sha256));
  EXPECT_EQ(r->action, "read");
  absl::StatusOr<mv::DownloadRecord> indexed =
      server_.vault().downloads().FindDownload(
          server_.vault().catalog().GetVersion("acme/model@1")->serial,
          a.header.download_id());
  ASSERT_TRUE(indexed.ok()) << indexed.status();
  EXPECT_EQ(indexed->principal, "root");
  EXPECT_EQ(indexed->delivered_sha256, a.trailer_sha256);
}

TEST_F(FingerprintServiceTest, ExactPullGivesTheOriginalAndIsAuditedAsSuch) {
  DownloadOptions exact;
  exact.exact = true;
  DownloadResult d = server_.Download("acme/model@1", exact);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_EQ(d.header.delivery(), v1::DELIVERY_EXACT);
  EXPECT_EQ(d.bytes, model_);
  EXPECT_EQ(d.trailer_sha256, Sha(model_));
  std::optional<mv::AuditRecord> r = Outcome(server_, d.header.download_id());
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->action, "read:exact");
  EXPECT_EQ(r->delivery, "exact");
}

TEST_F(FingerprintServiceTest, ExactNeedsReadExactNotJustRead) {
  DownloadOptions exact;
  exact.exact = true;
  exact.token = Reader("reader");
  DownloadResult denied = server_.Download("acme/model@1", exact);
  EXPECT_EQ(denied.status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.status.error_message(), HasSubstr("read:exact"));
  EXPECT_TRUE(denied.bytes.empty());
  exact.token = Reader("auditor", R"("read","read:exact")");
  DownloadResult allowed = server_.Download("acme/model@1", exact);
  ASSERT_TRUE(allowed.status.ok()) << allowed.status.error_message();
  EXPECT_EQ(allowed.bytes, model_);
}

TEST_F(FingerprintServiceTest,
       AResumedRangeWithTheSameIdIsASliceOfTheSameMarkedFile) {
  DownloadResult whole = server_.Download("acme/model@1");
  ASSERT_TRUE(whole.status.ok());
  for (auto [offset, length] : {std::pair<uint64_t, uint64_t>{0, 1000},
                                {123457, 1 << 20},
                                {model_.size() - 5000, 0}}) {
    DownloadOptions range;
    range.offset = offset;
    range.length = length;
    range.download_id = whole.header.download_id();
    DownloadResult part = server_.Download("acme/model@1", range);
    ASSERT_TRUE(part.status.ok()) << part.status.error_message();
    EXPECT_EQ(part.header.download_id(), whole.header.download_id());
    EXPECT_EQ(
        part.bytes,
        whole.bytes.substr(offset, length == 0 ? std::string::npos : length));
    EXPECT_EQ(part.trailer_sha256, Sha(part.bytes));
  }
}

TEST_F(FingerprintServiceTest, AForeignOrUnknownDownloadIdIsInvalid) {
  DownloadResult mine = server_.Download("acme/model@1");
  ASSERT_TRUE(mine.status.ok());
  DownloadOptions other;
  other.token = Reader("reader");
  other.download_id = mine.header.download_id();
  DownloadResult foreign = server_.Download("acme/model@1", other);
  EXPECT_EQ(foreign.status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(
      foreign.status.error_message(),
      absl::StrFormat(
          "download id %016x is not one of your downloads of acme/model@1",
          mine.header.download_id()));
  EXPECT_TRUE(foreign.bytes.empty());
  DownloadOptions unknown;
  unknown.download_id = 0x1234;
  EXPECT_EQ(server_.Download("acme/model@1", unknown).status.error_code(),
            StatusCode::INVALID_ARGUMENT);
  // The same id with another delivery (exact) does not match either.
  DownloadOptions exact;
  exact.exact = true;
  exact.download_id = mine.header.download_id();
  EXPECT_EQ(server_.Download("acme/model@1", exact).status.error_code(),
            StatusCode::INVALID_ARGUMENT);
}

TEST_F(FingerprintServiceTest, BlobVersionsAreServedUnmarked) {
  DownloadResult d = server_.Download("acme/blob@1");
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.header.delivery(), v1::DELIVERY_UNMARKED);
  EXPECT_EQ(d.bytes, RandomBytes(300000, 9));
  EXPECT_EQ(Outcome(server_, d.header.download_id())->delivery, "unmarked");
}

TEST_F(FingerprintServiceTest, RequireFingerprintOnABlobIsDenied) {
  const std::string token = *AddPrincipalWithPolicy(
      server_.vault(), "marked-only",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read"],)"
      R"("conditions":{"require_fingerprint":true}}]})");
  DownloadOptions as;
  as.token = token;
  DownloadResult blob = server_.Download("acme/blob@1", as);
  EXPECT_EQ(blob.status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(blob.status.error_message(),
            "permission denied: read on acme/blob requires a fingerprinted "
            "download, and "
            "acme/blob@1 cannot be marked (stored as a blob)");
  DownloadResult model = server_.Download("acme/model@1", as);
  ASSERT_TRUE(model.status.ok()) << model.status.error_message();
  EXPECT_EQ(model.header.delivery(), v1::DELIVERY_FINGERPRINTED);
}

TEST_F(FingerprintServiceTest,
       MalformedSafetensorsIsRefusedAndNothingIsStored) {
  // Claims 8 bytes of F32 data but carries 16: offsets do not tile the data.
  const std::string header =
      R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string bad = SafetensorsFile(header, std::string(16, '\1'));
  v1::UploadHeader upload;
  upload.set_name("acme/bad");
  upload.set_expected_size(bad.size());
  grpc::Status refused = server_.UploadWith(upload, bad);
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("not a valid safetensors file"));
  EXPECT_THAT(refused.error_message(), HasSubstr("--format blob"));
  EXPECT_EQ(server_.vault().catalog().GetVersion("acme/bad").status().code(),
            absl::StatusCode::kNotFound);
  upload.set_format(v1::FORMAT_BLOB);
  v1::Version stored;
  ASSERT_TRUE(server_.UploadWith(upload, bad, &stored).ok());
  EXPECT_EQ(stored.format(), v1::FORMAT_BLOB);
  EXPECT_FALSE(stored.fingerprint().markable());
  EXPECT_EQ(server_.Download("acme/bad@1").bytes, bad);
}

TEST_F(FingerprintServiceTest, AnUnknownUploadFormatIsRefusedNotGuessed) {
  v1::UploadHeader upload;
  upload.set_name("acme/odd");
  upload.set_format(static_cast<v1::Format>(42));
  grpc::Status refused = server_.UploadWith(upload, "some bytes");
  EXPECT_EQ(refused.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(),
              HasSubstr("UploadHeader.format: unknown value 42"));
  EXPECT_EQ(server_.vault().catalog().GetVersion("acme/odd").status().code(),
            absl::StatusCode::kNotFound);
}

bool VerifySignature(const v1::TraceResponse& r) {
  return r.signature().size() == crypto_sign_BYTES &&
         r.public_key().size() == crypto_sign_PUBLICKEYBYTES &&
         crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(r.signature().data()),
             reinterpret_cast<const unsigned char*>(r.report_json().data()),
             r.report_json().size(),
             reinterpret_cast<const unsigned char*>(r.public_key().data())) ==
             0;
}

TEST_F(FingerprintServiceTest,
       TraceAttributesALeakedDownloadWithASignedReport) {
  std::vector<std::string> tokens;
  for (int i = 0; i < 4; ++i)
    tokens.push_back(Reader("user-" + std::to_string(i)));
  std::vector<DownloadResult> pulls;
  for (const std::string& token : tokens) {
    DownloadOptions as;
    as.token = token;
    pulls.push_back(server_.Download("acme/model@1", as));
    ASSERT_TRUE(pulls.back().status.ok());
  }
  // Re-serialised (not a byte copy), so tier 0 cannot answer.
  const std::string leak = Build(Parse(pulls[2].bytes));
  v1::TraceResponse response;
  grpc::Status status = server_.Trace(Cast(leak, "BF16"), "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(VerifySignature(response));
  EXPECT_EQ(response.public_key(), server_.vault().tracer().audit_public_key());
  nlohmann::json report = nlohmann::json::parse(response.report_json());
  EXPECT_EQ(report.dump(), response.report_json());  // sorted, compact
  EXPECT_EQ(report["verdict"], "attributed");
  EXPECT_EQ(response.verdict(), "attributed");
  EXPECT_EQ(report["artifact"], "acme/model@1");
  ASSERT_FALSE(report["candidates"].empty());
  EXPECT_EQ(report["candidates"][0]["principal"], "user-2");
  EXPECT_EQ(report["candidates"][0]["download_id"],
            absl::StrFormat("%016x", pulls[2].header.download_id()));
  EXPECT_LE(report["candidates"][0]["p"].get<double>(), 1e-9);
  for (size_t i = 1; i < report["candidates"].size(); ++i) {
    EXPECT_NE(report["candidates"][i]["verdict"], "attributed");
  }
  // The call is audited with the version found and the file's size.
  std::optional<mv::AuditRecord> traced;
  (void)server_.vault().audit_log().ScanRecords(
      1, [&](const mv::AuditRecord& r, std::string_view) {
        if (r.method == "/modelvault.v1.TraceService/Trace") traced = r;
        return true;
      });
  ASSERT_TRUE(traced.has_value());
  EXPECT_EQ(traced->resource, "acme/model@1");
  EXPECT_EQ(traced->bytes, Cast(leak, "BF16").size());
  EXPECT_EQ(traced->action, "trace");
}

TEST_F(FingerprintServiceTest, AByteCopyIsAttributedByItsDeliveredDigest) {
  DownloadResult pull = server_.Download("acme/model@1");
  ASSERT_TRUE(pull.status.ok());
  v1::TraceResponse response;
  ASSERT_TRUE(server_.Trace(pull.bytes, "acme/model@1", &response).ok());
  nlohmann::json report = nlohmann::json::parse(response.report_json());
  EXPECT_EQ(report["verdict"], "attributed");
  EXPECT_EQ(report["matched_by"],
            absl::StrFormat("exact copy of download %016x",
                            pull.header.download_id()));
}

TEST_F(FingerprintServiceTest,
       TraceAnswersNotFoundForUnrelatedFilesAndUntraceableVersions) {
  v1::TraceResponse response;
  // A model whose tensors match no stored version by name or shape.
  Model unrelated = {
      {"other.weight",
       "F32",
       {300, 300},
       Encode(Gaussian(90000, 0.02f, 5), mv::MarkableType::kF32)}};
  EXPECT_EQ(server_.Trace(Build(unrelated), "", &response).error_code(),
            StatusCode::NOT_FOUND);
  // A caller who may trace other artifacts learns nothing about a matching
  // version it may not trace: the search never looks at it, and the audit
  // log records an admitted search that found nothing.
  absl::StatusOr<std::string> elsewhere = AddPrincipalWithPolicy(
      server_.vault(), "elsewhere", AllowJson("other/**", R"("trace")"));
  ASSERT_TRUE(elsewhere.ok()) << elsewhere.status();
  DownloadResult pull = server_.Download("acme/model@1");
  grpc::Status hidden =
      server_.Trace(Build(Parse(pull.bytes)), "", &response, *elsewhere);
  EXPECT_EQ(hidden.error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(hidden.error_message(), "no stored version matches this file");
  std::optional<mv::AuditRecord> denied;
  (void)server_.vault().audit_log().ScanRecords(
      1, [&](const mv::AuditRecord& r, std::string_view) {
        if (r.principal == "elsewhere") denied = r;
        return true;
      });
  ASSERT_TRUE(denied.has_value());
  EXPECT_EQ(denied->decision, mv::AuditDecision::kAllowed);
  EXPECT_EQ(denied->status_code,
            static_cast<uint32_t>(absl::StatusCode::kNotFound));
  EXPECT_EQ(denied->resource, "");
  EXPECT_EQ(denied->reason, "no stored version matches this file");
  EXPECT_EQ(server_.Trace(pull.bytes, "acme/model@1", &response, *elsewhere)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  // With `trace` it is found.
  const std::string tracer = Reader("tracer", R"("trace")");
  EXPECT_TRUE(
      server_.Trace(Build(Parse(pull.bytes)), "", &response, tracer).ok());
}

TEST_F(FingerprintServiceTest,
       ACallerWhoMayTraceNothingIsRefusedBeforeTheFileIsSent) {
  const std::string reader = Reader("reader");
  auto context = server_.Context(reader);
  v1::TraceResponse response;
  auto stream = server_.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest header;
  header.mutable_header()->set_size(uint64_t{1}
                                    << 40);  // would not fit the spool
  ASSERT_TRUE(stream->Write(header));
  // Offers 256 MiB after the header: a server that read them before
  // refusing would take them all; this one stops reading at the header, so
  // the transport takes at most its flow-control windows' worth (6-12 MiB
  // measured; the bound leaves room for a slow, loaded machine).
  const std::string mib(1 << 20, 'x');
  v1::TraceRequest chunk;
  chunk.set_chunk(mib);
  int taken = 0;
  while (taken < 256 && stream->Write(chunk)) ++taken;
  EXPECT_LT(taken, 64) << "MiB the server let the client send";
  stream->WritesDone();
  // Refused on the header alone, before its size is even weighed.
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "permission denied: no policy allows trace on any artifact");
}

// A trace spool in a directory of its own, to find its file.
class TraceSpoolTest : public testing::Test {
 protected:
  explicit TraceSpoolTest(uint64_t max_trace_bytes = uint64_t{1} << 50)
      : server_(Options(dir_.path(), max_trace_bytes)) {}
  static TestServerOptions Options(const std::string& dir,
                                   uint64_t max_trace_bytes) {
    TestServerOptions options;
    options.trace.spool_dir = dir;
    options.trace.max_trace_bytes = max_trace_bytes;
    return options;
  }
  // Bytes on disk of this process's open spool file, or -1 if none is open.
  int64_t SpoolBlocksBytes() {
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      const std::string target = std::filesystem::read_symlink(fd, ec).string();
      if (ec || !target.starts_with(dir_.path())) continue;
      struct stat st {};
      if (::stat(fd.path().c_str(), &st) == 0)
        return int64_t{st.st_blocks} * 512;
    }
    return -1;
  }
  mvtesting::TempDir dir_;
  TestServer server_;
};

TEST_F(TraceSpoolTest, TheSpoolGrowsWithTheBytesReceivedNotTheHeader) {
  auto context = server_.Context();
  v1::TraceResponse response;
  auto stream = server_.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_size(uint64_t{1} << 30);  // announces 1 GiB
  ASSERT_TRUE(stream->Write(message));
  message.set_chunk("12345");
  ASSERT_TRUE(stream->Write(message));
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  int64_t bytes = -1;
  while ((bytes = SpoolBlocksBytes()) < 0 &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(bytes, 0) << "no spool file appeared in " << dir_.path();
  EXPECT_LE(bytes, 1 << 20) << "the spool reserved the announced size";
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), StatusCode::CANCELLED);
}

TEST_F(TraceSpoolTest, AFileLargerThanTheFreeSpaceIsRefusedAtOnce) {
  auto context = server_.Context();
  v1::TraceResponse response;
  auto stream = server_.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_size(uint64_t{1} << 49);  // 512 TiB
  stream->Write(message);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("not enough free space"));
}

// --max-trace-bytes: one byte over is refused on the header, before a spool
// exists; at the limit the file is taken. Either way, once the call is over
// no spool file is open or left in the spool directory.
class TraceLimitTest : public TraceSpoolTest {
 protected:
  static constexpr uint64_t kLimit = 4096;
  TraceLimitTest() : TraceSpoolTest(kLimit) {}
  grpc::Status TraceOfSize(uint64_t size) {
    auto context = server_.Context();
    v1::TraceResponse response;
    auto stream = server_.trace_stub().Trace(context.get(), &response);
    v1::TraceRequest message;
    message.mutable_header()->set_size(size);
    stream->Write(message);
    message.set_chunk(std::string(size, 'x'));
    stream->Write(message);
    message.mutable_end();
    stream->Write(message);
    stream->WritesDone();
    return stream->Finish();
  }
  void ExpectNoSpoolLeft() {
    EXPECT_EQ(SpoolBlocksBytes(), -1) << "a spool file is still open";
    EXPECT_TRUE(std::filesystem::is_empty(dir_.path())) << dir_.path();
  }
};

TEST_F(TraceLimitTest, AFileOverMaxTraceBytesIsRefusedAndLeavesNoSpool) {
  grpc::Status over = TraceOfSize(kLimit + 1);
  EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(over.error_message(),
            "a 4097-byte file exceeds the server's limit of 4096 bytes for a "
            "trace");
  ExpectNoSpoolLeft();
  // At the limit it is received and read: it is no model, and says so.
  grpc::Status at = TraceOfSize(kLimit);
  EXPECT_EQ(at.error_code(), StatusCode::INVALID_ARGUMENT)
      << at.error_message();
  EXPECT_THAT(at.error_message(), Not(HasSubstr("exceeds the server's limit")));
  ExpectNoSpoolLeft();
}

TEST_F(FingerprintServiceTest, TraceRefusesAStreamThatDoesNotMatchItsHeader) {
  auto context = server_.Context();
  v1::TraceResponse response;
  auto stream = server_.trace_stub().Trace(context.get(), &response);
  v1::TraceRequest message;
  message.mutable_header()->set_size(10);
  stream->Write(message);
  message.set_chunk(std::string(11, 'x'));
  stream->Write(message);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("larger than the 10 bytes"));
  // Missing bytes, and no end message.
  EXPECT_EQ(server_.Trace("", "", &response).error_code(),
            StatusCode::INVALID_ARGUMENT);
}

class FingerprintOffTest : public FingerprintServiceTest {
 protected:
  FingerprintOffTest()
      : FingerprintServiceTest(With(mvserver::FingerprintMode::kOff)) {}
  static TestServerOptions With(mvserver::FingerprintMode mode) {
    TestServerOptions options;
    options.fingerprint = mode;
    return options;
  }
};

TEST_F(FingerprintOffTest, NothingIsMarkedAndRequireFingerprintNeverMatches) {
  DownloadResult d = server_.Download("acme/model@1");
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.header.delivery(), v1::DELIVERY_UNMARKED);
  EXPECT_EQ(d.bytes, model_);
  DownloadOptions as;
  as.token = *AddPrincipalWithPolicy(
      server_.vault(), "marked-only",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read"],)"
      R"("conditions":{"require_fingerprint":true}}]})");
  EXPECT_EQ(server_.Download("acme/model@1", as).status.error_code(),
            StatusCode::PERMISSION_DENIED);
}

class PolicyModeTest : public FingerprintServiceTest {
 protected:
  PolicyModeTest() : FingerprintServiceTest(Options()) {}
  static TestServerOptions Options() {
    TestServerOptions options;
    options.fingerprint = mvserver::FingerprintMode::kPolicy;
    return options;
  }
};

TEST_F(PolicyModeTest, OnlyRequireFingerprintRulesGetMarkedBytes) {
  DownloadOptions plain;
  plain.token = Reader("reader");
  DownloadResult unmarked = server_.Download("acme/model@1", plain);
  ASSERT_TRUE(unmarked.status.ok()) << unmarked.status.error_message();
  EXPECT_EQ(unmarked.header.delivery(), v1::DELIVERY_UNMARKED);
  EXPECT_EQ(unmarked.bytes, model_);
  DownloadOptions marked;
  marked.token = *AddPrincipalWithPolicy(
      server_.vault(), "marked-only",
      R"({"rules":[{"effect":"allow","artifacts":["acme/**"],"actions":["read"],)"
      R"("conditions":{"require_fingerprint":true}}]})");
  DownloadResult fp = server_.Download("acme/model@1", marked);
  ASSERT_TRUE(fp.status.ok()) << fp.status.error_message();
  EXPECT_EQ(fp.header.delivery(), v1::DELIVERY_FINGERPRINTED);
  EXPECT_NE(fp.bytes, model_);
  EXPECT_EQ(server_.Download("acme/blob@1", marked).status.error_code(),
            StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace mvtesting
