// Leak tracing through the Vault API: fingerprinted downloads (the marked
// reader), the downloads index and Tracer::TraceLeak with its signed JSON
// report, on a markable synthetic safetensors model.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/bytes.h"
#include "common/status_macros.h"
#include "crypto/sha256.h"
#include "src/trace/permute_units.h"
#include "src/trace/trace_test_models.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/download_index.h"
#include "vault/trace_report.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr size_t kDownloads = 24;
constexpr uint64_t kV2Id = 0x7777000000000001;

std::string Digest(std::string_view data) {
  mv::Sha256Digest d = mv::Sha256::Of(data);
  return std::string(mv::AsChars(d));
}

std::string IdHex(uint64_t id) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

uint64_t IdOf(size_t i) { return 0x9E3779B97F4A7C15u * (i + 1); }
std::string PrincipalOf(size_t i) { return "user" + std::to_string(i); }

// One vault shared by the suite (uploading and pulling the model 24 times
// is the slow part): acme/llm@1 and @2 (another model of the same shape)
// and a blob, with 24 fingerprinted whole downloads of @1 by 24 principals.
class TraceLeakTest : public VaultTest {
 protected:
  void SetUp() override {
    VaultTest::SetUp();
    original_ = Build(SyntheticModel("F32", 31));
    absl::StatusOr<mv::VersionInfo> v1 =
        Upload("acme/llm", original_, {1 << 16});
    ASSERT_THAT(v1, IsOk());
    ASSERT_TRUE(v1->fingerprint.markable()) << v1->fingerprint.unmarked_reason;
    v1_ = *v1;
    other_ = Build(SyntheticModel("F32", 1031));
    absl::StatusOr<mv::VersionInfo> v2 = Upload("acme/llm", other_, {1 << 16});
    ASSERT_THAT(v2, IsOk());
    ASSERT_TRUE(v2->fingerprint.markable());
    v2_ = *v2;
  }

  // A fingerprinted download as the server runs it: start (charge, index,
  // record), stream, finish with the whole-file digest.
  Download Pull(const mv::VersionInfo& v, size_t who, uint64_t id,
                uint64_t offset = 0, uint64_t length = 0) {
    mv::Principal principal;
    principal.name = PrincipalOf(who);
    mv::Decision allowed;
    allowed.allowed = true;
    mv::DownloadRecord entry;
    entry.serial = v.serial;
    entry.download_id = id;
    entry.principal = principal.name;
    entry.peer = "ipv4:10.0.0." + std::to_string(who) + ":5000";
    entry.delivery = mv::Delivery::kFingerprinted;
    mv::AuditRecord started;
    started.principal = principal.name;
    started.resource = v.Ref();
    started.download_id = id;
    started.peer = entry.peer;
    started.delivery = "fingerprinted";
    EXPECT_THAT(vault_->downloads().StartDownload(principal, allowed, v.size,
                                                  entry, &started),
                IsOk());
    Download d =
        Open(v.Ref(), offset, length, {.fingerprint = true, .download_id = id});
    EXPECT_THAT(d.status, IsOk());
    const bool whole = offset == 0 && (length == 0 || length == v.size);
    EXPECT_THAT(vault_->downloads().FinishDownload(
                    v.serial, id, whole ? d.delivered_sha256 : "", &started),
                IsOk());
    return d;
  }
  Download Open(const std::string& ref, uint64_t offset, uint64_t length,
                const mv::DeliveryOptions& options,
                mv::Delivery* delivery = nullptr) {
    auto reader = vault_->catalog().OpenDownload(ref, offset, length, options);
    if (!reader.ok()) return Download{reader.status(), "", ""};
    if (delivery != nullptr) *delivery = (*reader)->delivery();
    return Drain(**reader);
  }
  // Pulls @1 kDownloads times; returns what each received.
  std::vector<std::string> PullAll() {
    std::vector<std::string> out;
    for (size_t i = 0; i < kDownloads; ++i)
      out.push_back(Pull(v1_, i, IdOf(i)).bytes);
    return out;
  }
  absl::StatusOr<mv::LeakReport> Trace(const std::string& leak,
                                       const std::string& ref = "") {
    return vault_->tracer().TraceLeak(
        leak, ref, vault_->tracer().TraceScopeFor(mv::RootCaller(), "", ""));
  }

  std::string original_, other_;
  mv::VersionInfo v1_, v2_;
};

TEST_F(TraceLeakTest, AFingerprintedDownloadIsMarkedForItsId) {
  mv::Delivery delivery{};
  Download a = Open("acme/llm@1", 0, 0, {.fingerprint = true, .download_id = 1},
                    &delivery);
  ASSERT_THAT(a.status, IsOk());
  EXPECT_EQ(delivery, mv::Delivery::kFingerprinted);
  Download b =
      Open("acme/llm@1", 0, 0, {.fingerprint = true, .download_id = 2});
  ASSERT_EQ(a.bytes.size(), original_.size());
  EXPECT_NE(a.bytes, original_);
  EXPECT_NE(a.bytes, b.bytes);
  EXPECT_EQ(a.delivered_sha256, Digest(a.bytes));
  EXPECT_EQ(b.delivered_sha256, Digest(b.bytes));
  EXPECT_EQ(
      Open("acme/llm@1", 0, 0, {.fingerprint = true, .download_id = 1}).bytes,
      a.bytes)
      << "the same id gets the same bytes";
  // Only weights change, each by a few bytes: the file still parses, the
  // header is intact, and far fewer than 1% of the bytes differ.
  EXPECT_THAT(mv::ParseSafetensors(a.bytes), IsOk());
  size_t changed = 0;
  for (size_t i = 0; i < a.bytes.size(); ++i)
    changed += a.bytes[i] != original_[i];
  EXPECT_GT(changed, 1000u);
  EXPECT_LT(changed, 4 * 8192u);
  const uint64_t header = 8 + [&] {
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i)
      n = n << 8 | static_cast<uint8_t>(original_[i]);
    return n;
  }();
  EXPECT_EQ(a.bytes.substr(0, header), original_.substr(0, header));
}

TEST_F(TraceLeakTest, UnmarkedAndExactDeliveriesAreTheOriginal) {
  mv::Delivery delivery{};
  Download plain = Open("acme/llm@1", 0, 0, {}, &delivery);
  ASSERT_THAT(plain.status, IsOk());
  EXPECT_EQ(delivery, mv::Delivery::kUnmarked);
  EXPECT_TRUE(plain.bytes == original_);
  EXPECT_EQ(plain.delivered_sha256, v1_.sha256);
  Download exact = Open("acme/llm@1", 0, 0, {.exact = true}, &delivery);
  EXPECT_EQ(delivery, mv::Delivery::kExact);
  EXPECT_TRUE(exact.bytes == original_);
  Download part = Open("acme/llm@1", 1001, 77777, {}, &delivery);
  EXPECT_TRUE(part.bytes == original_.substr(1001, 77777));
  EXPECT_EQ(part.delivered_sha256, Digest(part.bytes));
}

TEST_F(TraceLeakTest, ABlobIsNeverMarked) {
  mv::UploadSpec spec;
  spec.name = "acme/blob";
  spec.store_as = mv::UploadSpec::As::kBlob;
  ASSERT_THAT(Upload(spec, original_), IsOk());
  mv::Delivery delivery{};
  Download d = Open("acme/blob", 0, 0, {.fingerprint = true, .download_id = 9},
                    &delivery);
  ASSERT_THAT(d.status, IsOk());
  EXPECT_EQ(delivery, mv::Delivery::kUnmarked);
  EXPECT_TRUE(d.bytes == original_);
}

TEST_F(TraceLeakTest, BadDeliveryOptionsAreRefused) {
  EXPECT_THAT(
      Open("acme/llm@1", 0, 0, {.fingerprint = true}).status,
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("download id")));
  EXPECT_THAT(Open("acme/llm@1", 0, 0,
                   {.fingerprint = true, .exact = true, .download_id = 1})
                  .status,
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
}

TEST_F(TraceLeakTest, AnAbandonedFingerprintedReaderIsReleased) {
  for (int i = 0; i < 10; ++i) {
    auto reader = vault_->catalog().OpenDownload(
        "acme/llm@1", 0, 0, {.fingerprint = true, .download_id = 5});
    ASSERT_THAT(reader, IsOk());
    std::string piece;
    ASSERT_THAT((*reader)->Next(&piece), IsOkAndHolds(true));
  }  // destroyed mid-stream with both stages busy
  ASSERT_THAT(vault_->catalog().DeleteVersion("acme/llm@2"), IsOk());
}

TEST_F(TraceLeakTest,
       AVersionDeletedDuringAFingerprintedDownloadEndsInNotFound) {
  const mv::DeliveryOptions options{.fingerprint = true, .download_id = 5};
  const std::string whole = Open("acme/llm@1", 0, 0, options).bytes;
  auto reader = vault_->catalog().OpenDownload("acme/llm@1", 0, 0, options);
  ASSERT_THAT(reader, IsOk());
  ASSERT_THAT(vault_->catalog().DeleteVersion("acme/llm@1"), IsOk());
  Download got = Drain(**reader);
  EXPECT_THAT(got.status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("was deleted")));
  EXPECT_LT(got.bytes.size(), whole.size());
  EXPECT_TRUE(got.bytes == whole.substr(0, got.bytes.size()))
      << "wrong bytes before the error";
}

TEST_F(TraceLeakTest, ARangeIsExactlyTheSliceOfTheWholeMarkedDownload) {
  constexpr uint64_t kId = 0x1234;
  const mv::DeliveryOptions options{.fingerprint = true, .download_id = kId};
  const std::string whole = Open("acme/llm@1", 0, 0, options).bytes;
  ASSERT_EQ(whole.size(), original_.size());
  // Ranges that begin or end inside marked elements, at chunk edges and at
  // random places.
  std::vector<uint64_t> diffs;
  for (uint64_t i = 0; i < whole.size(); ++i) {
    if (whole[i] != original_[i]) diffs.push_back(i);
  }
  ASSERT_GT(diffs.size(), 100u);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [begin, end)
  for (size_t k = 0; k < diffs.size(); k += diffs.size() / 12) {
    const uint64_t d = diffs[k];
    ranges.push_back({d, d + 1});  // one byte of a marked element
    ranges.push_back({d - 1, d + 2});
    ranges.push_back({d + 1, d + 1 + 3 * kChunk});
    ranges.push_back({d - 2 * kChunk - 1, d});
  }
  std::mt19937_64 rng(5);
  for (int k = 0; k < 12; ++k) {
    const uint64_t a = rng() % whole.size(), b = rng() % whole.size();
    ranges.push_back({std::min(a, b), std::max(a, b) + 1});
  }
  ranges.push_back({kChunk - 1, kChunk + 1});
  ranges.push_back({0, whole.size()});
  for (auto [begin, end] : ranges) {
    end = std::min<uint64_t>(end, whole.size());
    Download got = Open("acme/llm@1", begin, end - begin, options);
    ASSERT_THAT(got.status, IsOk());
    ASSERT_TRUE(got.bytes == whole.substr(begin, end - begin))
        << begin << ".." << end;
    ASSERT_EQ(got.delivered_sha256, Digest(got.bytes)) << begin << ".." << end;
  }
  // Pieced together from ranges, the whole download is the same file.
  std::string joined;
  for (uint64_t at = 0; at < whole.size(); at += 100'003) {
    joined += Open("acme/llm@1", at,
                   std::min<uint64_t>(100'003, whole.size() - at), options)
                  .bytes;
  }
  EXPECT_TRUE(joined == whole);
}

TEST_F(TraceLeakTest, TheLeakersReserialisedCopyIsAttributedToThem) {
  const std::vector<std::string> received = PullAll();
  ASSERT_THAT(vault_->downloads().ListDownloads(v1_.serial),
              IsOkAndHolds(SizeIs(kDownloads)));
  constexpr size_t kLeaker = 7;
  // Re-saved as bf16: not a byte copy, so tier 0 cannot match.
  const std::string leak = Cast(received[kLeaker], "BF16");
  absl::StatusOr<mv::LeakReport> report = Trace(leak);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->artifact, "acme/llm@1");
  EXPECT_EQ(report->matched_by, "tensor names and shapes");
  EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
  EXPECT_EQ(report->downloads_scored, kDownloads);
  EXPECT_EQ(report->result.mode, mv::TraceMode::kLossless);
  EXPECT_FALSE(report->result.abstained);
  ASSERT_FALSE(report->candidates.empty());
  const mv::TracedDownload& top = report->candidates[0];
  EXPECT_EQ(top.score.download_id, IdOf(kLeaker));
  EXPECT_EQ(top.download.principal, PrincipalOf(kLeaker));
  EXPECT_EQ(top.score.verdict, mv::Verdict::kAttributed);
  EXPECT_LE(top.score.log10_p_family, -9);
  for (size_t k = 1; k < report->candidates.size(); ++k) {
    EXPECT_EQ(report->candidates[k].score.verdict, mv::Verdict::kNone)
        << report->candidates[k].download.principal;
  }
  EXPECT_EQ(report->candidates.size(), 10u)
      << "the attributed one and the top 10";
  EXPECT_GT(top.download.audit_sequence, 0u);
  EXPECT_EQ(report->tensors.size(), 10u);
  for (const mv::LeakReport::TensorFinding& t : report->tensors) {
    EXPECT_GT(t.positions, 0u) << t.name;
    EXPECT_EQ(t.present, t.positions) << t.name;
    EXPECT_EQ(t.mode, mv::TraceMode::kLossless) << t.name;
  }
  // Named explicitly, the same version gives the same verdict.
  absl::StatusOr<mv::LeakReport> told = Trace(leak, "acme/llm@1");
  ASSERT_THAT(told, IsOk());
  EXPECT_EQ(told->matched_by, "as told");
  EXPECT_EQ(told->candidates[0].score.download_id, IdOf(kLeaker));
}

TEST_F(TraceLeakTest, APartialNoisyLeakIsAttributedAndItsTensorsReported) {
  const std::vector<std::string> received = PullAll();
  // Three of the ten marked tensors, with noise of half the mark size.
  const std::string leak = AddNoise(
      KeepTensors(received[19],
                  [](const ModelTensor& t) {
                    return t.name.find("layers.1.") != std::string::npos ||
                           t.name.find("layers.2.mlp.up") !=
                               std::string::npos ||
                           t.name.find("layers.3.mlp.up") != std::string::npos;
                  }),
      0.5, 17);
  absl::StatusOr<mv::LeakReport> report = Trace(leak);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->artifact, "acme/llm@1");
  EXPECT_EQ(report->result.mode, mv::TraceMode::kSoft);
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].score.download_id, IdOf(19));
  EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
  for (size_t k = 1; k < report->candidates.size(); ++k) {
    EXPECT_EQ(report->candidates[k].score.verdict, mv::Verdict::kNone);
  }
  size_t present = 0;
  for (const mv::LeakReport::TensorFinding& t : report->tensors) {
    const bool kept = t.name.find("layers.1.") != std::string::npos ||
                      t.name.find("layers.2.") != std::string::npos ||
                      t.name.find("layers.3.") != std::string::npos;
    EXPECT_EQ(t.present, kept ? t.positions : 0) << t.name;
    EXPECT_EQ(t.mode, kept ? mv::TraceMode::kSoft : mv::TraceMode::kNoData)
        << t.name;
    present += kept;
  }
  EXPECT_EQ(present, 3u);
}

TEST_F(TraceLeakTest, AByteCopyOfADownloadIsAttributedByItsHash) {
  const std::vector<std::string> received = PullAll();
  absl::StatusOr<mv::LeakReport> report = Trace(received[3]);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->matched_by, "exact copy of download " + IdHex(IdOf(3)));
  EXPECT_EQ(report->artifact, "acme/llm@1");
  EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
  ASSERT_THAT(report->candidates, SizeIs(1));
  EXPECT_EQ(report->candidates[0].download.principal, PrincipalOf(3));
  EXPECT_EQ(report->candidates[0].score.verdict, mv::Verdict::kAttributed);
  EXPECT_LE(report->candidates[0].score.log10_p_family, -9)
      << "the statistics agree";
  EXPECT_EQ(report->leak_sha256, Digest(received[3]));
}

TEST_F(TraceLeakTest, AnIndexEntryThatDisagreesWithItsAuditRecordNamesNoOne) {
  const std::vector<std::string> received = PullAll();
  CloseVault();
  // An authentic but wrong entry (as a rollback or an insider with the key
  // could leave it): download 3 now claims principal 4 took it.
  const std::string key = mv::DownloadKey(v1_.serial, IdOf(3));
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                MV_ASSIGN_OR_RETURN(auto raw,
                                    txn.Get(env.Db("downloads"), key));
                MV_ASSIGN_OR_RETURN(mv::DownloadRecord d,
                                    mv::DecodeDownload(key, *raw));
                d.principal = PrincipalOf(4);
                return txn.Put(env.Db("downloads"), key, mv::EncodeDownload(d));
              }),
              IsOk());
  Reopen();
  EXPECT_THAT(
      Trace(received[3]),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("downloads index entry " + IdHex(IdOf(3)) +
                         " of acme/llm@1 does not match audit record")));
  // The others still trace.
  EXPECT_THAT(Trace(received[5]), IsOk());
}

// README: once the audit record of a download is archived, the trace no
// longer cross-checks its downloads-index entry (the archive, offline, holds
// the record): the entry still traces instead of failing as "missing", and
// an entry whose record is still in the vault is still checked.
TEST_F(TraceLeakTest, AnArchivedDownloadStillTracesAndLaterOnesAreChecked) {
  const std::vector<std::string> received = PullAll();
  absl::StatusOr<mv::Checkpoint> signed_head =
      vault_->audit_log().ForceCheckpoint();
  ASSERT_THAT(signed_head, IsOk());
  mv::AuditRecord archive;
  archive.principal = "root";
  archive.method = "/modelvault.v1.AuditService/Archive";
  archive.action = "admin:audit:archive";
  archive.decision = mv::AuditDecision::kAllowed;
  ASSERT_THAT(vault_->audit_log().Archive(signed_head->sequence, archive),
              IsOk());
  const uint64_t later_id = IdOf(kDownloads);
  const std::string later = Pull(v1_, 4, later_id).bytes;

  absl::StatusOr<mv::LeakReport> report = Trace(received[3]);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].download.principal, PrincipalOf(3));

  // The download after the archive is checked against its record as ever.
  CloseVault();
  const std::string key = mv::DownloadKey(v1_.serial, later_id);
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) -> absl::Status {
                MV_ASSIGN_OR_RETURN(auto raw,
                                    txn.Get(env.Db("downloads"), key));
                MV_ASSIGN_OR_RETURN(mv::DownloadRecord d,
                                    mv::DecodeDownload(key, *raw));
                d.principal = PrincipalOf(5);
                return txn.Put(env.Db("downloads"), key, mv::EncodeDownload(d));
              }),
              IsOk());
  Reopen();
  EXPECT_THAT(Trace(later), StatusIs(absl::StatusCode::kDataLoss,
                                     HasSubstr("does not match audit record")));
}

TEST_F(TraceLeakTest, TheUnmarkedOriginalIsAnExactCopyOfTheOriginal) {
  PullAll();
  mv::Principal bob;
  bob.name = "bob";
  mv::Decision allowed;
  allowed.allowed = true;
  mv::DownloadRecord exact;
  exact.serial = v1_.serial;
  exact.download_id = 99;
  exact.principal = "bob";
  exact.delivery = mv::Delivery::kExact;
  ASSERT_THAT(
      vault_->downloads().StartDownload(bob, allowed, 1, exact, nullptr),
      IsOk());
  absl::StatusOr<mv::LeakReport> report = Trace(original_);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->matched_by, "exact copy of the original");
  EXPECT_EQ(report->artifact, "acme/llm@1");
  EXPECT_EQ(report->verdict, mv::Verdict::kNone);
  EXPECT_TRUE(report->candidates.empty());
  EXPECT_EQ(report->original_downloads, 1u);
}

TEST_F(TraceLeakTest, ALeakOfOneVersionTracedAgainstAnotherNamesNoOne) {
  const std::vector<std::string> received = PullAll();
  for (size_t i = 0; i < 4; ++i) Pull(v2_, i, kV2Id + i);
  absl::StatusOr<mv::LeakReport> report =
      Trace(Cast(received[5], "BF16"), "acme/llm@2");
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->artifact, "acme/llm@2");
  EXPECT_EQ(report->verdict, mv::Verdict::kNone);
  EXPECT_EQ(report->downloads_scored, 4u);
  EXPECT_EQ(report->candidates.size(), 4u);  // scored, and no one accused
  EXPECT_GT(report->result.decoys.count, 0u);
  for (const mv::TracedDownload& c : report->candidates) {
    EXPECT_EQ(c.score.verdict, mv::Verdict::kNone);
  }
}

TEST_F(TraceLeakTest, UnknownFilesAndGarbageAreRefused) {
  EXPECT_THAT(Trace(Build(SyntheticModel("F32", 4242))),
              StatusIs(absl::StatusCode::kNotFound,
                       "no stored version matches this file"));
  EXPECT_THAT(Trace("this is not a model file at all"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::_));
  EXPECT_THAT(Trace(Cast(original_, "BF16"), "acme/nothing@1"),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
  mv::UploadSpec spec;
  spec.name = "acme/blob";
  spec.store_as = mv::UploadSpec::As::kBlob;
  ASSERT_THAT(Upload(spec, other_ + "x"), IsOk());
  EXPECT_THAT(Trace(Cast(original_, "BF16"), "acme/blob"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not markable")));
}

// Every 2-D tensor transposed (as a GPT-2 Conv1D checkpoint stores them):
// the names still match but the values do not follow them, so the version
// is found by the rewrite, and the signed report says what was undone.
TEST_F(TraceLeakTest, ATransposedLeakIsFoundAndTheReportSaysWhatWasUndone) {
  const std::vector<std::string> received = PullAll();
  absl::StatusOr<mv::LeakReport> report =
      Trace(mvtesting::ToGpt2Conv1d(received[7]));
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->artifact, "acme/llm@1");
  EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
  ASSERT_FALSE(report->candidates.empty());
  EXPECT_EQ(report->candidates[0].score.download_id, IdOf(7));
  const nlohmann::json j = nlohmann::json::parse(mv::LeakReportJson(*report));
  ASSERT_EQ(j["tensors"].size(), 10u);
  for (const nlohmann::json& t : j["tensors"]) {
    EXPECT_EQ(t["found"]["by"], "rewrite") << t;
    EXPECT_EQ(t["found"]["transposed"], true) << t;
    EXPECT_EQ(t["found"]["rows"], "as stored") << t;
  }
}

// Every up_proj's rows (hidden units) permuted, each its own way: nothing
// maps by name, values or a known rewrite, so the version is found by
// content, reading its stored plaintext; the report names the permutation
// undone per tensor.
TEST_F(TraceLeakTest, APermutedLeakIsAlignedByContentAndTheReportSaysSo) {
  const std::vector<std::string> received = PullAll();
  const std::string leak =
      Cast(mvtesting::PermuteHiddenUnits(received[5], 77), "BF16");
  for (const std::string ref : {"", "acme/llm@1"}) {
    SCOPED_TRACE("told: " + ref);
    absl::StatusOr<mv::LeakReport> report = Trace(leak, ref);
    ASSERT_THAT(report, IsOk());
    EXPECT_EQ(report->artifact, "acme/llm@1");
    EXPECT_EQ(report->matched_by, ref.empty() ? "tensor contents" : "as told");
    EXPECT_EQ(report->verdict, mv::Verdict::kAttributed);
    ASSERT_FALSE(report->candidates.empty());
    EXPECT_EQ(report->candidates[0].score.download_id, IdOf(5));
    for (size_t k = 1; k < report->candidates.size(); ++k)
      EXPECT_EQ(report->candidates[k].score.verdict, mv::Verdict::kNone);
    const nlohmann::json j = nlohmann::json::parse(mv::LeakReportJson(*report));
    ASSERT_EQ(j["tensors"].size(), 10u);
    for (const nlohmann::json& t : j["tensors"]) {
      EXPECT_EQ(t["found"]["by"], "content") << t;
      EXPECT_EQ(t["found"]["leak_name"], t["name"]) << t;
      const nlohmann::json& aligned = t["found"]["aligned"];
      EXPECT_EQ(aligned["axis"], "rows") << t;
      EXPECT_EQ(aligned["aligned"], aligned["needed"]) << t;
      EXPECT_GT(aligned["pairing_correlation"].get<double>(), 0.99) << t;
      EXPECT_EQ(aligned["pairs_sha256"].get<std::string>().size(), 64u);
    }
  }
}

// An unrelated model, permuted: the search by content reads both versions
// of that shape and finds neither.
TEST_F(TraceLeakTest, APermutedUnrelatedModelMatchesNoVersion) {
  EXPECT_THAT(Trace(mvtesting::PermuteHiddenUnits(
                  Build(SyntheticModel("F32", 4343)), 5)),
              StatusIs(absl::StatusCode::kNotFound,
                       "no stored version matches this file"));
}

TEST_F(TraceLeakTest, TheReportIsSortedJsonSignedWithTheAuditKey) {
  const std::vector<std::string> received = PullAll();
  absl::StatusOr<mv::LeakReport> report = Trace(Cast(received[11], "F16"));
  ASSERT_THAT(report, IsOk());
  const std::string json = mv::LeakReportJson(*report);
  const nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j.dump(), json)
      << "compact with sorted keys: re-serialising gives the same bytes";
  EXPECT_EQ(j["scheme"], "MVFP-1");
  EXPECT_EQ(j["verdict"], "attributed");
  EXPECT_EQ(j["artifact"], "acme/llm@1");
  EXPECT_EQ(j["leak"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(j["leak"]["size"].is_number_unsigned());
  EXPECT_TRUE(j["abstained"].is_boolean());
  EXPECT_EQ(j["downloads_scored"], kDownloads);
  EXPECT_TRUE(j["generated_at"].get<std::string>().ends_with("Z"));
  EXPECT_EQ(j["parameters"]["tardos_positions"],
            v1_.fingerprint.tardos_positions);
  EXPECT_EQ(j["decoys"]["count"], 10'000);
  const nlohmann::json& candidates = j["candidates"];
  ASSERT_TRUE(candidates.is_array());
  ASSERT_EQ(candidates.size(), 10u);
  EXPECT_EQ(candidates[0]["download_id"], IdHex(IdOf(11)));
  EXPECT_EQ(candidates[0]["principal"], PrincipalOf(11));
  EXPECT_EQ(candidates[0]["verdict"], "attributed");
  EXPECT_EQ(candidates[0]["delivery"], "fingerprinted");
  EXPECT_LE(candidates[0]["p"].get<double>(), 1e-9);
  for (size_t k = 0; k < candidates.size(); ++k) {
    for (const char* key : {"z", "p", "log10_p"}) {
      EXPECT_TRUE(candidates[k][key].is_number_float()) << key;
    }
    EXPECT_TRUE(candidates[k]["audit_sequence"].is_number_unsigned());
    EXPECT_TRUE(candidates[k]["time"].is_string());
    if (k > 0) {
      EXPECT_GE(candidates[k - 1]["z"].get<double>(),
                candidates[k]["z"].get<double>());
    }
  }
  ASSERT_EQ(j["tensors"].size(), 10u);
  EXPECT_EQ(j["tensors"][0]["mode"], "lossless");
  EXPECT_EQ(j["tensors"][0]["found"],
            nlohmann::json({{"by", "name"},
                            {"leak_name", j["tensors"][0]["name"]},
                            {"rows", "as stored"},
                            {"transposed", false},
                            {"aligned", nullptr}}));

  const std::string signature = vault_->tracer().SignWithAuditKey(json);
  ASSERT_EQ(signature.size(), 64u);
  EXPECT_EQ(vault_->tracer().audit_public_key(),
            vault_->audit_log().public_key());
  EXPECT_EQ(
      crypto_sign_verify_detached(
          mv::AsBytes(signature).data(), mv::AsBytes(json).data(), json.size(),
          mv::AsBytes(vault_->tracer().audit_public_key()).data()),
      0);
  std::string edited = json;
  edited[edited.find("attributed")] = 'A';
  EXPECT_NE(crypto_sign_verify_detached(
                mv::AsBytes(signature).data(), mv::AsBytes(edited).data(),
                edited.size(),
                mv::AsBytes(vault_->tracer().audit_public_key()).data()),
            0);
}

}  // namespace
}  // namespace mvtesting
