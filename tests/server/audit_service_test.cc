// AuditService through the real server: filters, pagination, follow,
// export (verified offline, resumed batches), public key, verify, and
// admin:audit enforcement on every RPC.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "audit/audit_export.h"
#include "audit/checkpoint.h"
#include "server/access_setup.h"
#include "server/audit_query.h"
#include "server/test_server.h"

namespace mvtesting {
namespace {

namespace v1 = modelvault::v1;
using grpc::StatusCode;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kAuditorPolicy[] =
    R"({"rules":[{"effect":"allow","actions":["admin:audit"]}]})";
// Every admin action but admin:audit.
constexpr char kOpsPolicy[] =
    R"({"rules":[{"effect":"allow","actions":["admin:principals","admin:tokens","admin:policies"]}]})";

class AuditServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<CallerTokens> tokens = SetUpCallers(server_.vault());
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *tokens;
    absl::StatusOr<std::string> auditor =
        AddPrincipalWithPolicy(server_.vault(), "auditor", kAuditorPolicy);
    ASSERT_TRUE(auditor.ok()) << auditor.status();
    auditor_ = *auditor;
    absl::StatusOr<std::string> ops =
        AddPrincipalWithPolicy(server_.vault(), "ops", kOpsPolicy);
    ASSERT_TRUE(ops.ok()) << ops.status();
    ops_ = *ops;
  }

  // Root pushes a/m1 and b/m2 and pulls a/m1; reader-a is denied b/m2; a
  // bogus token is refused.
  void MakeTraffic() {
    ASSERT_TRUE(server_.Upload("a/m1", RandomBytes(1000, 1)).ok());
    ASSERT_TRUE(server_.Upload("b/m2", RandomBytes(2000, 2)).ok());
    ASSERT_TRUE(server_.Download("a/m1").status.ok());
    auto ctx = server_.Context(tokens_.reader_a);
    v1::GetVersionRequest get;
    get.set_ref("b/m2");
    v1::Version version;
    ASSERT_EQ(server_.stub().GetVersion(ctx.get(), get, &version).error_code(),
              StatusCode::PERMISSION_DENIED);
    ctx = server_.Context("mvt_bogus");
    ASSERT_EQ(server_.stub().GetVersion(ctx.get(), get, &version).error_code(),
              StatusCode::UNAUTHENTICATED);
  }

  // Appends a record straight to the log (explicit times make time filters
  // deterministic).
  uint64_t Inject(const std::string& principal, int64_t time_unix_ms = 0) {
    mv::AuditRecord r;
    r.principal = principal;
    r.time_unix_ms = time_unix_ms;
    r.method = "/modelvault.v1.ArtifactService/GetVersion";
    r.resource = "x/injected@1";
    r.action = "read";
    r.decision = mv::AuditDecision::kAllowed;
    absl::StatusOr<uint64_t> seq = server_.vault().audit_log().Commit(r);
    EXPECT_TRUE(seq.ok()) << seq.status();
    return seq.value_or(0);
  }
  // `n` records from 4 threads at once (group commit keeps this quick).
  void InjectMany(const std::string& principal, int n) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < n; i += 4) Inject(principal);
      });
    }
    for (auto& th : threads) th.join();
  }

  grpc::Status Query(const v1::QueryRecordsRequest& request,
                     v1::QueryRecordsResponse* response,
                     const std::string& token = "") {
    auto ctx = server_.Context(token);
    return server_.audit_stub().QueryRecords(ctx.get(), request, response);
  }
  // Every matching record, following page tokens; counts pages.
  std::vector<v1::AuditRecord> QueryAll(const v1::AuditFilter& filter,
                                        uint32_t page_size, bool newest_first,
                                        int* pages = nullptr) {
    std::vector<v1::AuditRecord> out;
    v1::QueryRecordsRequest request;
    *request.mutable_filter() = filter;
    request.set_page_size(page_size);
    request.set_newest_first(newest_first);
    int count = 0;
    do {
      v1::QueryRecordsResponse response;
      grpc::Status status = Query(request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.records_size(), static_cast<int>(page_size));
      out.insert(out.end(), response.records().begin(),
                 response.records().end());
      request.set_page_token(response.next_page_token());
      ++count;
    } while (!request.page_token().empty() && count < 1000);
    if (pages != nullptr) *pages = count;
    return out;
  }
  std::vector<v1::AuditRecord> QueryAll(const v1::AuditFilter& filter) {
    return QueryAll(filter, 1000, false);
  }

  struct ExportResult {
    grpc::Status status;
    std::string text;
    size_t chunks = 0, largest_chunk = 0;
  };
  ExportResult Export(const v1::ExportRequest& request,
                      const std::string& token = "") {
    auto ctx = server_.Context(token);
    ExportResult result;
    auto reader = server_.audit_stub().Export(ctx.get(), request);
    v1::ExportChunk chunk;
    while (reader->Read(&chunk)) {
      result.text += chunk.data();
      ++result.chunks;
      result.largest_chunk =
          std::max(result.largest_chunk, chunk.data().size());
    }
    result.status = reader->Finish();
    return result;
  }

  TestServer server_;
  CallerTokens tokens_;
  std::string auditor_, ops_;
};

std::vector<uint64_t> Sequences(const std::vector<v1::AuditRecord>& records) {
  std::vector<uint64_t> out;
  for (const auto& r : records) out.push_back(r.sequence());
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// ---- Calls of methods no service implements ----

TEST_F(AuditServiceTest, AnUnknownMethodIsAnsweredAndAudited) {
  const std::string path = "/modelvault.v1.ArtifactService/NoSuchMethod";
  grpc::Status status = server_.CallPath(path, "");
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "unknown method " + path);
  status = server_.CallPath("/other.Service/Probe", "mvt_bogus");
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);

  std::vector<v1::AuditRecord> got = QueryAll(v1::AuditFilter());
  std::vector<v1::AuditRecord> unknown;
  for (const v1::AuditRecord& r : got) {
    if (r.method() == path || r.method() == "/other.Service/Probe")
      unknown.push_back(r);
  }
  ASSERT_EQ(unknown.size(), 2u);
  EXPECT_EQ(unknown[0].method(), path);
  EXPECT_EQ(unknown[0].principal(), "root");
  EXPECT_EQ(unknown[0].decision(), "failed");
  EXPECT_EQ(unknown[0].status_code(),
            static_cast<uint32_t>(StatusCode::UNIMPLEMENTED));
  EXPECT_EQ(unknown[0].reason(), "unknown method " + path);
  EXPECT_EQ(unknown[1].principal(), "");
  EXPECT_EQ(unknown[1].decision(), "unauthenticated");
}

TEST_F(AuditServiceTest, ALongUnknownPathIsCutInItsRecord) {
  const std::string path = "/x.Y/" + std::string(1000, 'z');
  EXPECT_EQ(server_.CallPath(path, "").error_code(), StatusCode::UNIMPLEMENTED);
  std::vector<std::string> methods;
  for (const v1::AuditRecord& r : QueryAll(v1::AuditFilter())) {
    if (absl::StartsWith(r.method(), "/x.Y/")) methods.push_back(r.method());
  }
  EXPECT_THAT(methods, ElementsAreArray({path.substr(
                           0, mvserver::UnknownMethodService::kMaxPathBytes)}));
}

// ---- QueryRecords filters ----

TEST_F(AuditServiceTest, PrincipalFilterIsExact) {
  MakeTraffic();
  v1::AuditFilter filter;
  filter.set_principal("reader-a");
  std::vector<v1::AuditRecord> got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal(), "reader-a");
  EXPECT_EQ(got[0].decision(), "denied");
  EXPECT_EQ(got[0].status_code(),
            static_cast<uint32_t>(StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(got[0].method(), "/modelvault.v1.ArtifactService/GetVersion");
  EXPECT_EQ(got[0].hash().size(), 32u);
  filter.set_principal("reader");  // a prefix is not a match
  EXPECT_THAT(QueryAll(filter), IsEmpty());
}

TEST_F(AuditServiceTest, ArtifactFilterGlobsTheNameBeforeTheAt) {
  MakeTraffic();
  v1::AuditFilter filter;
  filter.set_artifact("a/**");
  std::vector<v1::AuditRecord> got = QueryAll(filter);
  std::set<std::string> methods;
  for (const auto& r : got) {
    EXPECT_TRUE(absl::StartsWith(r.resource(), "a/m1")) << r.resource();
    methods.insert(r.method());
  }
  EXPECT_TRUE(methods.count("/modelvault.v1.ArtifactService/Upload"));
  EXPECT_TRUE(methods.count("/modelvault.v1.ArtifactService/Download"));

  filter.set_artifact("b/*");  // the upload and the denied GetVersion
  got = QueryAll(filter);
  EXPECT_GE(got.size(), 2u);
  for (const auto& r : got)
    EXPECT_TRUE(absl::StartsWith(r.resource(), "b/m2")) << r.resource();

  filter.set_artifact("**");  // never matches records about no artifact
  for (const auto& r : QueryAll(filter)) {
    EXPECT_TRUE(absl::StartsWith(r.method(), "/modelvault.v1.ArtifactService/"))
        << r.method();
    EXPECT_FALSE(r.resource().empty());
  }
}

TEST_F(AuditServiceTest, ActionAndDecisionFilters) {
  MakeTraffic();
  v1::AuditFilter filter;
  filter.set_action("write");
  std::vector<v1::AuditRecord> got = QueryAll(filter);
  ASSERT_EQ(got.size(), 2u);  // the two uploads
  for (const auto& r : got)
    EXPECT_EQ(r.method(), "/modelvault.v1.ArtifactService/Upload");

  filter.Clear();
  filter.set_decision("unauthenticated");
  got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal(), "");
  EXPECT_EQ(got[0].token_accessor(), "");

  filter.set_decision("denied");
  got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].principal(), "reader-a");
}

TEST_F(AuditServiceTest, BadFiltersAreInvalidArgument) {
  v1::QueryRecordsRequest request;
  v1::QueryRecordsResponse response;
  request.mutable_filter()->set_decision("maybe");
  grpc::Status status = Query(request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("decision"));
  request.mutable_filter()->set_decision("");
  request.mutable_filter()->set_artifact("a b");
  status = Query(request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("artifact"));
}

TEST_F(AuditServiceTest, SinceIsInclusiveAndUntilExclusive) {
  Inject("timed", 1000);
  Inject("timed", 2000);
  Inject("timed", 3000);
  v1::AuditFilter filter;
  filter.set_principal("timed");
  filter.set_since_unix_ms(2000);
  std::vector<v1::AuditRecord> got = QueryAll(filter);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].time_unix_ms(), 2000);
  EXPECT_EQ(got[1].time_unix_ms(), 3000);
  filter.set_since_unix_ms(0);
  filter.set_until_unix_ms(2000);
  got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].time_unix_ms(), 1000);
  filter.set_since_unix_ms(1500);
  filter.set_until_unix_ms(2500);
  got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].time_unix_ms(), 2000);
}

// ---- pagination ----

TEST_F(AuditServiceTest, PagesCoverEveryRecordOnceInBothOrders) {
  std::vector<uint64_t> injected;
  for (int i = 0; i < 25; ++i) injected.push_back(Inject("pager"));
  v1::AuditFilter filter;
  filter.set_principal("pager");
  int pages = 0;
  std::vector<v1::AuditRecord> got = QueryAll(filter, 10, false, &pages);
  EXPECT_THAT(Sequences(got), ElementsAreArray(injected));
  EXPECT_GE(pages, 3);

  std::vector<uint64_t> reversed(injected.rbegin(), injected.rend());
  got = QueryAll(filter, 10, true, &pages);
  EXPECT_THAT(Sequences(got), ElementsAreArray(reversed));
  EXPECT_GE(pages, 3);
}

TEST_F(AuditServiceTest, PageSizeDefaultsTo100) {
  InjectMany("bulk", 120);
  v1::QueryRecordsRequest request;
  request.mutable_filter()->set_principal("bulk");
  v1::QueryRecordsResponse response;
  ASSERT_TRUE(Query(request, &response).ok());
  EXPECT_EQ(response.records_size(), 100);
  EXPECT_FALSE(response.next_page_token().empty());
}

TEST_F(AuditServiceTest, GarbagePageTokensAreInvalidArgument) {
  Inject("x");
  for (const char* token :
       {"abc", "-1", "0", "01", "1.5", " 1", "99999999999999999999999"}) {
    v1::QueryRecordsRequest request;
    request.set_page_token(token);
    v1::QueryRecordsResponse response;
    grpc::Status status = Query(request, &response);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_THAT(status.error_message(), HasSubstr("page_token")) << token;
  }
}

TEST_F(AuditServiceTest, ScanIsBoundedPerPageAndResumable) {
  std::vector<uint64_t> injected;
  for (int i = 0; i < 12; ++i) injected.push_back(Inject("scan"));
  v1::AuditFilter none;
  none.set_principal("nobody-at-all");
  auto filter = mvserver::RecordFilter::FromProto(none);
  ASSERT_TRUE(filter.ok());
  mvserver::QuerySpec spec;
  spec.start = injected.front();
  spec.max_scanned = 5;
  auto page =
      mvserver::QueryRecords(server_.vault().audit_log(), *filter, spec);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->records, IsEmpty());
  EXPECT_EQ(page->next, injected[5]);  // a token although the page is empty

  v1::AuditFilter scan;
  scan.set_principal("scan");
  filter = mvserver::RecordFilter::FromProto(scan);
  std::vector<uint64_t> seen;
  int calls = 0;
  for (spec.start = injected.front(); calls < 100; spec.start = page->next) {
    page = mvserver::QueryRecords(server_.vault().audit_log(), *filter, spec);
    ASSERT_TRUE(page.ok()) << page.status();
    ++calls;
    for (const auto& r : page->records) seen.push_back(r.record.sequence);
    if (page->next == 0) break;
  }
  EXPECT_THAT(seen, ElementsAreArray(injected));
  EXPECT_EQ(calls, 3);  // 12 records, 5 per call
}

// ---- FollowRecords ----

// Reads a follow stream on its own thread.
class Follower {
 public:
  Follower(TestServer& server, const v1::FollowRecordsRequest& request,
           const std::string& token = "")
      : ctx_(server.Context(token)) {
    reader_ = server.audit_stub().FollowRecords(ctx_.get(), request);
    thread_ = std::thread([this] {
      v1::AuditRecord r;
      while (reader_->Read(&r)) {
        std::lock_guard<std::mutex> lock(mu_);
        got_.push_back(r);
        cv_.notify_all();
      }
      grpc::Status status = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = status;
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Follower() {
    ctx_->TryCancel();
    thread_.join();
  }
  // Waits (bounded, for a hung server only) until `n` records arrived.
  std::vector<v1::AuditRecord> WaitFor(size_t n,
                                       std::chrono::milliseconds at_most) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, at_most, [&] { return got_.size() >= n || done_; });
    return got_;
  }
  grpc::Status Cancel() {
    ctx_->TryCancel();
    return Wait();
  }
  grpc::Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
    return status_;
  }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReader<v1::AuditRecord>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::AuditRecord> got_;
  grpc::Status status_;
  bool done_ = false;
};

TEST_F(AuditServiceTest, FollowStreamsMatchingRecordsWrittenAfterItStarts) {
  Inject("follow-me");  // before after_sequence: never streamed
  auto head = server_.vault().audit_log().ReadHead();
  ASSERT_TRUE(head.ok());
  v1::FollowRecordsRequest request;
  request.mutable_filter()->set_principal("follow-me");
  request.set_after_sequence(head->sequence);
  Follower follower(server_, request);
  std::vector<uint64_t> injected;
  for (int i = 0; i < 3; ++i) {
    Inject("someone-else");
    injected.push_back(Inject("follow-me"));
  }
  std::vector<v1::AuditRecord> got =
      follower.WaitFor(3, std::chrono::seconds(60));
  EXPECT_THAT(Sequences(got), ElementsAreArray(injected));
  EXPECT_EQ(follower.Cancel().error_code(), StatusCode::CANCELLED);

  // The handler ended: its own outcome record is written once it returns.
  v1::AuditFilter filter;
  filter.set_principal("root");
  bool ended = false;
  for (int i = 0; i < 600 && !ended; ++i) {
    for (const auto& r : QueryAll(filter)) {
      ended |= r.method() == "/modelvault.v1.AuditService/FollowRecords";
    }
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ended);
}

TEST_F(AuditServiceTest, FollowFromZeroSkipsRecordsWrittenBefore) {
  for (int i = 0; i < 3; ++i) Inject("zero");
  v1::FollowRecordsRequest request;
  request.mutable_filter()->set_principal("zero");
  Follower follower(server_, request);
  // The stream starts after the head it reads when it starts, which the
  // test cannot observe: write until one record arrives.
  std::vector<v1::AuditRecord> got;
  std::set<uint64_t> written_after;
  for (int i = 0; i < 300 && got.empty(); ++i) {
    written_after.insert(Inject("zero"));
    got = follower.WaitFor(1, std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(got.empty());
  for (const auto& r : got)
    EXPECT_TRUE(written_after.count(r.sequence())) << r.sequence();
}

TEST_F(AuditServiceTest, StopEndsFollowersWithOk) {
  v1::FollowRecordsRequest request;
  Follower follower(server_, request);
  // The follower starts after the head it reads when it starts, which the
  // test cannot observe: write until one record arrives.
  bool got = false;
  for (int i = 0; i < 300 && !got; ++i) {
    Inject("anyone");
    got = !follower.WaitFor(1, std::chrono::milliseconds(200)).empty();
  }
  ASSERT_TRUE(got);
  server_.Stop();  // Stop() first, then a graceful Shutdown with 5 s grace
  EXPECT_TRUE(follower.Wait().ok()) << follower.Wait().error_message();
  server_.Start();
}

// ---- Export ----

TEST_F(AuditServiceTest, ExportVerifiesOfflineAndEndsSigned) {
  MakeTraffic();
  ExportResult result = Export(v1::ExportRequest());
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  auto key = server_.vault().audit_log().public_key();
  mv::VerifyOptions options;
  options.from_genesis = true;
  options.require_export_end = true;
  mv::VerifyResult verified = mv::VerifyExport(result.text, key, options);
  EXPECT_TRUE(verified.ok) << verified.Summary();
  EXPECT_EQ(verified.unsigned_tail, 0u);
  EXPECT_GE(verified.checkpoints, 1u);
  EXPECT_NE(verified.exported_unix_ms, 0);
  std::vector<std::string> lines = Lines(result.text);
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(absl::StrContains(lines.back(), R"("type":"export_end")"))
      << lines.back();
  EXPECT_TRUE(absl::StrContains(lines[lines.size() - 2],
                                R"("type":"checkpoint")"))
      << lines[lines.size() - 2];
  EXPECT_TRUE(absl::EndsWith(result.text, "\n"));
  EXPECT_LE(result.largest_chunk, mvserver::kMaxExportChunkBytes);
  // Redaction: no token of this test appears in the export.
  for (const std::string& token :
       {server_.root_token(), tokens_.reader_a, tokens_.admin, tokens_.writer_a,
        auditor_, ops_}) {
    EXPECT_FALSE(absl::StrContains(result.text, token));
  }
}

TEST_F(AuditServiceTest, ExportFromASequenceOrATime) {
  std::vector<uint64_t> injected;
  for (int64_t t : {5000, 6000, 7000}) injected.push_back(Inject("exp", t));
  v1::ExportRequest request;
  request.set_from_sequence(injected[1]);
  ExportResult result = Export(request);
  ASSERT_TRUE(result.status.ok());
  auto first = mv::ParseExportLine(Lines(result.text).front());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->record.sequence, injected[1]);
  mv::VerifyResult verified =
      mv::VerifyExport(result.text, server_.vault().audit_log().public_key());
  EXPECT_TRUE(verified.ok) << verified.Summary();
  EXPECT_EQ(verified.unsigned_tail, 0u);

  // The first record at or after since, scanning from from_sequence: the
  // injected times are in 1970, the others now.
  request.set_from_sequence(injected[0]);
  request.set_since_unix_ms(6000);
  result = Export(request);
  ASSERT_TRUE(result.status.ok());
  first = mv::ParseExportLine(Lines(result.text).front());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->record.sequence, injected[1]);
}

TEST_F(AuditServiceTest, ResumedBatchesConcatenateToTheOneShotExport) {
  MakeTraffic();
  mv::AuditLog& log = server_.vault().audit_log();
  auto checkpoint = log.ForceCheckpoint();
  ASSERT_TRUE(checkpoint.ok());
  for (uint64_t from : {uint64_t{1}, uint64_t{3}}) {
    std::string one_shot;
    ASSERT_TRUE(log.Export(from, checkpoint->sequence,
                           [&](std::string_view line) {
                             one_shot.append(line);
                             return true;
                           })
                    .ok());
    for (size_t batch_bytes : {size_t{1}, size_t{700}, size_t{1} << 20}) {
      std::string resumed;
      size_t batches = 0;
      ASSERT_TRUE(mvserver::ExportInBatches(log, from, checkpoint->sequence,
                                            batch_bytes,
                                            [&](std::string&& batch) {
                                              resumed += batch;
                                              ++batches;
                                              return true;
                                            })
                      .ok());
      EXPECT_EQ(resumed, one_shot)
          << "from " << from << ", batch " << batch_bytes;
      if (batch_bytes == 1) {
        EXPECT_EQ(batches, checkpoint->sequence - from + 1);
      }
    }
  }
}

TEST_F(AuditServiceTest, ExportStopsWhenTheSinkFails) {
  Inject("x");
  Inject("y");
  auto checkpoint = server_.vault().audit_log().ForceCheckpoint();
  ASSERT_TRUE(checkpoint.ok());
  int calls = 0;
  absl::Status status =
      mvserver::ExportInBatches(server_.vault().audit_log(), 1,
                                checkpoint->sequence, 1, [&](std::string&&) {
                                  ++calls;
                                  return false;
                                });
  EXPECT_EQ(status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

// ---- GetPublicKey, Verify ----

TEST_F(AuditServiceTest, PublicKeyParsesToTheLogsKey) {
  auto ctx = server_.Context();
  v1::GetPublicKeyResponse response;
  ASSERT_TRUE(server_.audit_stub()
                  .GetPublicKey(ctx.get(), v1::GetPublicKeyRequest(), &response)
                  .ok());
  EXPECT_TRUE(absl::EndsWith(response.public_key(), "\n"));
  auto key = mv::ParsePublicKey(response.public_key());
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, server_.vault().audit_log().public_key());
}

TEST_F(AuditServiceTest, VerifyReportsRecordsAndCheckpoints) {
  MakeTraffic();
  ASSERT_TRUE(server_.vault().audit_log().ForceCheckpoint().ok());
  auto head = server_.vault().audit_log().ReadHead();
  ASSERT_TRUE(head.ok());
  auto ctx = server_.Context(auditor_);
  v1::VerifyAuditResponse response;
  ASSERT_TRUE(server_.audit_stub()
                  .Verify(ctx.get(), v1::VerifyAuditRequest(), &response)
                  .ok());
  EXPECT_TRUE(response.ok()) << response.problem();
  EXPECT_EQ(response.problem(), "");
  EXPECT_GE(response.records(), head->sequence);
  EXPECT_GE(response.checkpoints(), 1u);
}

TEST_F(AuditServiceTest, MalformedArchiveAndExportRequestsChangeNothing) {
  MakeTraffic();
  absl::StatusOr<mv::Checkpoint> checkpoint =
      server_.vault().audit_log().ForceCheckpoint();
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  const auto archive = [&](int64_t before, uint64_t through,
                           const std::string& sha256) {
    auto ctx = server_.Context();  // root: admin:audit:archive
    v1::ArchiveAuditRequest request;
    request.set_before_unix_ms(before);
    request.set_through_sequence(through);
    request.set_archive_sha256(sha256);
    v1::ArchiveAuditResponse response;
    return server_.audit_stub().Archive(ctx.get(), request, &response);
  };
  const struct {
    grpc::Status status;
    const char* message;
  } cases[] = {
      {archive(0, 0, ""), "before_unix_ms: the time to archive records"},
      {archive(-1, 0, ""), "ArchiveAuditRequest.before_unix_ms: -1 is out"},
      {archive(0, checkpoint->sequence, ""), "archive_sha256: the SHA-256"},
      {archive(0, checkpoint->sequence, std::string(64, 'z')),
       "archive_sha256: the SHA-256"},
      {archive(0, checkpoint->sequence, std::string(65, 'a')),
       "ArchiveAuditRequest.archive_sha256: 65 bytes"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(c.status.error_code(), StatusCode::INVALID_ARGUMENT)
        << c.message;
    EXPECT_THAT(c.status.error_message(), HasSubstr(c.message));
  }
  v1::ExportRequest export_request;
  export_request.set_through_sequence(checkpoint->sequence - 1);
  ExportResult exported = Export(export_request);
  EXPECT_EQ(exported.status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(exported.status.error_message(),
              HasSubstr("is not a signed checkpoint"));
  EXPECT_EQ(exported.text, "");

  auto ctx = server_.Context(auditor_);
  v1::VerifyAuditResponse verified;
  ASSERT_TRUE(server_.audit_stub()
                  .Verify(ctx.get(), v1::VerifyAuditRequest(), &verified)
                  .ok());
  EXPECT_TRUE(verified.ok()) << verified.problem();
  EXPECT_EQ(verified.archived_through(), 0u) << "nothing was archived";
}

// ---- access ----

TEST_F(AuditServiceTest, AuditorMayCallEveryRpc) {
  Inject("x");
  v1::QueryRecordsResponse query;
  EXPECT_TRUE(Query(v1::QueryRecordsRequest(), &query, auditor_).ok());
  EXPECT_TRUE(Export(v1::ExportRequest(), auditor_).status.ok());
}

TEST_F(AuditServiceTest, EveryRpcNeedsAdminAudit) {
  for (const std::string& token : {ops_, tokens_.reader_a, tokens_.writer_a}) {
    v1::QueryRecordsResponse query;
    EXPECT_EQ(Query(v1::QueryRecordsRequest(), &query, token).error_code(),
              StatusCode::PERMISSION_DENIED);
    EXPECT_THAT(query.records(), IsEmpty());

    ExportResult exported = Export(v1::ExportRequest(), token);
    EXPECT_EQ(exported.status.error_code(), StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(exported.text, "");

    Follower follower(server_, v1::FollowRecordsRequest(), token);
    EXPECT_EQ(follower.Wait().error_code(), StatusCode::PERMISSION_DENIED);

    auto ctx = server_.Context(token);
    v1::GetPublicKeyResponse key;
    EXPECT_EQ(
        server_.audit_stub().GetPublicKey(ctx.get(), {}, &key).error_code(),
        StatusCode::PERMISSION_DENIED);
    ctx = server_.Context(token);
    v1::VerifyAuditResponse verify;
    EXPECT_EQ(server_.audit_stub().Verify(ctx.get(), {}, &verify).error_code(),
              StatusCode::PERMISSION_DENIED);
  }
  v1::QueryRecordsResponse query;
  EXPECT_EQ(Query(v1::QueryRecordsRequest(), &query, "mvt_bogus").error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(AuditServiceTest, AuditCallsAreThemselvesAudited) {
  v1::QueryRecordsResponse query;
  ASSERT_EQ(Query(v1::QueryRecordsRequest(), &query, ops_).error_code(),
            StatusCode::PERMISSION_DENIED);
  v1::AuditFilter filter;
  filter.set_principal("ops");
  filter.set_decision("denied");
  std::vector<v1::AuditRecord> got = QueryAll(filter);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method(), "/modelvault.v1.AuditService/QueryRecords");
}

}  // namespace
}  // namespace mvtesting
