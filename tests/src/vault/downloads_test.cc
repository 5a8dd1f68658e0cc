// The downloads index (vault/download_index.h): StartDownload charges, indexes
// and audits in one transaction and fails closed like ChargeDownload;
// FinishDownload stores the delivered digest with the outcome record; a
// resumed range must name one of the caller's own downloads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "common/bytes.h"
#include "testing/status_matchers.h"
#include "testing/vault_fixture.h"
#include "vault/download_index.h"

namespace mvtesting {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint64_t kId = 0x00000000000000abu;

std::string Budgeted(const std::string& conditions) {
  return R"({"rules": [{"effect": "allow", "artifacts": ["acme/**"], "actions": ["read"],
                        "conditions": )" +
         conditions + "}]}";
}

class DownloadsIndexTest : public VaultTest {
 protected:
  void SetUp() override {
    audit_options_.fault = [this]() -> absl::Status {
      if (broken_) return absl::InternalError("injected");
      return absl::OkStatus();
    };
    VaultTest::SetUp();
    absl::StatusOr<mv::VersionInfo> v = Upload("acme/m", "weights");
    ASSERT_THAT(v, IsOk());
    serial_ = v->serial;
    allowed_.allowed = true;
  }

  mv::DownloadRecord Entry(
      uint64_t id, const std::string& principal = "root",
      mv::Delivery delivery = mv::Delivery::kFingerprinted) {
    mv::DownloadRecord d;
    d.serial = serial_;
    d.download_id = id;
    d.principal = principal;
    d.started_unix_ms = 1700000000123;
    d.peer = "ipv4:10.0.0.7:5000";
    d.delivery = delivery;
    return d;
  }
  mv::AuditRecord Started(const std::string& request_id, uint64_t id = kId) {
    mv::AuditRecord r;
    r.principal = "root";
    r.method = "/modelvault.v1.ArtifactService/Download";
    r.resource = "acme/m@1";
    r.action = "read";
    r.decision = mv::AuditDecision::kAllowed;
    r.request_id = request_id;
    r.download_id = id;
    r.delivery = "fingerprinted";
    return r;
  }
  uint64_t Head() { return vault_->audit_log().ReadHead()->sequence; }
  std::vector<mv::AuditRecord> Records(const std::string& request_id) {
    std::vector<mv::AuditRecord> out;
    EXPECT_THAT(vault_->audit_log().ScanRecords(
                    1,
                    [&](const mv::AuditRecord& r, std::string_view) {
                      if (r.request_id == request_id) out.push_back(r);
                      return true;
                    }),
                IsOk());
    return out;
  }
  absl::StatusOr<mv::Decision> Authorize(const mv::Principal& who) {
    mv::AccessRequest request;
    request.artifact = "acme/m";
    request.now = absl::InfinitePast();
    return vault_->identity().Authorize(who, request);
  }

  std::atomic<bool> broken_{false};
  uint64_t serial_ = 0;
  mv::Decision allowed_;
};

TEST_F(DownloadsIndexTest, StartDownloadIndexesTheDownloadWithItsStartRecord) {
  mv::AuditRecord r = Started("start");
  ASSERT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId), &r),
      IsOk());
  std::vector<mv::AuditRecord> records = Records("start");
  ASSERT_THAT(records, SizeIs(1));
  EXPECT_EQ(records[0].delivery, "fingerprinted");
  absl::StatusOr<mv::DownloadRecord> found =
      vault_->downloads().FindDownload(serial_, kId);
  ASSERT_THAT(found, IsOk());
  mv::DownloadRecord want = Entry(kId);
  want.audit_sequence = records[0].sequence;
  EXPECT_EQ(*found, want);
  EXPECT_THAT(vault_->downloads().ListDownloads(serial_),
              IsOkAndHolds(::testing::ElementsAre(want)));
  EXPECT_THAT(vault_->downloads().ListDownloads(serial_ + 1),
              IsOkAndHolds(IsEmpty()));
  Reopen();
  EXPECT_THAT(vault_->downloads().FindDownload(serial_, kId),
              IsOkAndHolds(want));
}

TEST_F(DownloadsIndexTest, ListDownloadsIsByDownloadIdAndPerVersion) {
  for (uint64_t id : std::vector<uint64_t>{0xff, 0x1, 0x1000000000000000}) {
    mv::AuditRecord r = Started("s", id);
    ASSERT_THAT(
        vault_->downloads().StartDownload(root_, allowed_, 1, Entry(id), &r),
        IsOk());
  }
  mv::DownloadRecord other = Entry(0x2);
  other.serial = serial_ + 100;
  ASSERT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 1, other, nullptr),
      IsOk());
  absl::StatusOr<std::vector<mv::DownloadRecord>> list =
      vault_->downloads().ListDownloads(serial_);
  ASSERT_THAT(list, IsOk());
  ASSERT_THAT(*list, SizeIs(3));
  EXPECT_EQ((*list)[0].download_id, 0x1u);
  EXPECT_EQ((*list)[1].download_id, 0xffu);
  EXPECT_EQ((*list)[2].download_id, 0x1000000000000000u);
  EXPECT_THAT(vault_->downloads().ListDownloads(serial_ + 100),
              IsOkAndHolds(SizeIs(1)));
}

TEST_F(DownloadsIndexTest, AResumedRangeKeepsTheFirstEntryAndIsAuditedAgain) {
  mv::AuditRecord r = Started("first");
  ASSERT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId), &r),
      IsOk());
  const mv::DownloadRecord first =
      *vault_->downloads().FindDownload(serial_, kId);
  r.request_id = "resumed";
  mv::DownloadRecord again = Entry(kId);
  again.peer = "ipv4:10.9.9.9:1";
  again.started_unix_ms += 5000;
  ASSERT_THAT(vault_->downloads().StartDownload(root_, allowed_, 3, again, &r),
              IsOk());
  EXPECT_THAT(Records("resumed"), SizeIs(1));
  EXPECT_THAT(vault_->downloads().FindDownload(serial_, kId),
              IsOkAndHolds(first));
}

TEST_F(DownloadsIndexTest, AnotherPrincipalsOrAnotherDeliverysIdIsRefused) {
  mv::AuditRecord r = Started("first");
  ASSERT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId), &r),
      IsOk());
  const uint64_t head = Head();
  r.request_id = "refused";
  EXPECT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 7,
                                        Entry(kId, "mallory"), &r),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "download id 00000000000000ab is not one of your downloads of "
               "acme/m@1"));
  EXPECT_THAT(
      vault_->downloads().StartDownload(
          root_, allowed_, 7, Entry(kId, "root", mv::Delivery::kExact), &r),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("is not one of your")));
  EXPECT_EQ(Head(), head) << "a refused start writes no record";
  EXPECT_EQ(vault_->downloads().FindDownload(serial_, kId)->principal, "root");
}

TEST_F(DownloadsIndexTest,
       StartDownloadFailsClosedWhenTheAuditCannotBeWritten) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  absl::StatusOr<mv::Decision> decision = Authorize(alice);
  ASSERT_THAT(decision, IsOk());
  const uint64_t head = Head();
  broken_ = true;
  mv::AuditRecord r = Started("refused");
  EXPECT_THAT(vault_->downloads().StartDownload(alice, *decision, 7,
                                                Entry(kId, "alice"), &r),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("audit log write failed")));
  EXPECT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId + 1), &r),
      StatusIs(absl::StatusCode::kUnavailable,
               HasSubstr("audit log write failed")))
      << "unbudgeted too: the index entry and its record go together";
  broken_ = false;
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(
      vault_->downloads().FindDownload(serial_, kId),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("00000000000000ab")));
  EXPECT_THAT(vault_->downloads().ListDownloads(serial_),
              IsOkAndHolds(IsEmpty()));
  // Nothing was charged: alice's one download of the day is still there.
  r.request_id = "ok";
  EXPECT_THAT(vault_->downloads().StartDownload(alice, *decision, 7,
                                                Entry(kId, "alice"), &r),
              IsOk());
  EXPECT_THAT(vault_->audit_log().VerifyStored(), IsOk());
}

TEST_F(DownloadsIndexTest, AnExhaustedBudgetIndexesAndRecordsNothing) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  absl::StatusOr<mv::Decision> decision = Authorize(alice);
  ASSERT_THAT(decision, IsOk());
  mv::AuditRecord r = Started("one");
  ASSERT_THAT(vault_->downloads().StartDownload(alice, *decision, 7,
                                                Entry(1, "alice"), &r),
              IsOk());
  const uint64_t head = Head();
  r.request_id = "two";
  EXPECT_THAT(
      vault_->downloads().StartDownload(alice, *decision, 7, Entry(2, "alice"),
                                        &r),
      StatusIs(
          absl::StatusCode::kResourceExhausted,
          "daily download budget exhausted: policy limited rule 0 allows 1 "
          "downloads/day"));
  EXPECT_EQ(Head(), head);
  EXPECT_THAT(vault_->downloads().FindDownload(serial_, 2),
              StatusIs(absl::StatusCode::kNotFound, ::testing::_));
}

TEST_F(DownloadsIndexTest, ChargeDownloadStillChargesAndFailsClosed) {
  PutPolicy("limited", Budgeted(R"({"max_downloads_per_day": 1})"));
  const mv::Principal alice = Principal("alice", {"limited"});
  absl::StatusOr<mv::Decision> decision = Authorize(alice);
  ASSERT_THAT(decision, IsOk());
  mv::AuditRecord r = Started("charge");
  broken_ = true;
  EXPECT_THAT(vault_->identity().ChargeDownload(alice, *decision, 1, &r),
              StatusIs(absl::StatusCode::kUnavailable, ::testing::_));
  broken_ = false;
  ASSERT_THAT(vault_->identity().ChargeDownload(alice, *decision, 1, &r),
              IsOk())
      << "nothing was charged";
  EXPECT_THAT(vault_->identity().ChargeDownload(alice, *decision, 1, &r),
              StatusIs(absl::StatusCode::kResourceExhausted, ::testing::_));
  EXPECT_THAT(Records("charge"), SizeIs(1));
}

TEST_F(DownloadsIndexTest, BadStartsAreRefused) {
  mv::Decision denied;
  EXPECT_THAT(
      vault_->downloads().StartDownload(root_, denied, 1, Entry(kId), nullptr),
      StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  EXPECT_THAT(
      vault_->downloads().StartDownload(root_, allowed_, 1, Entry(0), nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("download id 0")));
}

TEST_F(DownloadsIndexTest, FinishDownloadStoresTheDigestWithTheOutcomeRecord) {
  ASSERT_THAT(vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId),
                                                nullptr),
              IsOk());
  const std::string digest(32, '\x5c');
  mv::AuditRecord outcome = Started("done");
  outcome.delivery = "fingerprinted";
  ASSERT_THAT(
      vault_->downloads().FinishDownload(serial_, kId, digest, &outcome),
      IsOk());
  EXPECT_EQ(vault_->downloads().FindDownload(serial_, kId)->delivered_sha256,
            digest);
  std::vector<mv::AuditRecord> records = Records("done");
  ASSERT_THAT(records, SizeIs(1));
  std::string hex;
  for (int i = 0; i < 32; ++i) hex += "5c";
  EXPECT_EQ(records[0].delivered_sha256, hex) << "filled in from the digest";
  // A partial range's outcome stores no digest.
  outcome.request_id = "partial";
  ASSERT_THAT(
      vault_->downloads().FinishDownload(serial_, kId + 1, "", &outcome),
      IsOk());
  EXPECT_EQ(Records("partial")[0].delivered_sha256, "");
}

TEST_F(DownloadsIndexTest, FinishDownloadFailsClosed) {
  ASSERT_THAT(vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId),
                                                nullptr),
              IsOk());
  broken_ = true;
  mv::AuditRecord outcome = Started("done");
  EXPECT_THAT(vault_->downloads().FinishDownload(
                  serial_, kId, std::string(32, 'x'), &outcome),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("audit log write failed")));
  broken_ = false;
  EXPECT_EQ(vault_->downloads().FindDownload(serial_, kId)->delivered_sha256,
            "")
      << "the digest is stored only with its record";
  EXPECT_THAT(Records("done"), IsEmpty());
}

TEST_F(DownloadsIndexTest, FinishDownloadRefusesUnknownIdsAndBadDigests) {
  EXPECT_THAT(
      vault_->downloads().FinishDownload(serial_, kId, std::string(32, 'x'),
                                         nullptr),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("00000000000000ab")));
  EXPECT_THAT(
      vault_->downloads().FinishDownload(serial_, kId, "short", nullptr),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("32 bytes")));
}

TEST_F(DownloadsIndexTest, ACorruptIndexEntryIsDataLoss) {
  ASSERT_THAT(vault_->downloads().StartDownload(root_, allowed_, 7, Entry(kId),
                                                nullptr),
              IsOk());
  CloseVault();
  ASSERT_THAT(EditRaw([&](mv::LmdbEnv& env, mv::WriteTxn& txn) {
                return txn.Put(env.Db("downloads"),
                               mv::DownloadKey(serial_, kId), "\x01garbage");
              }),
              IsOk());
  Reopen();
  EXPECT_THAT(vault_->downloads().FindDownload(serial_, kId),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(vault_->downloads().ListDownloads(serial_),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
}

TEST(DownloadRecordCodec, RoundTripsAndRejectsMalformedRecords) {
  mv::DownloadRecord r;
  r.serial = 0x0102030405060708;
  r.download_id = 0xfffffffffffffffe;
  r.principal = "alice";
  r.started_unix_ms = -5;
  r.peer = "ipv6:[::1]:1";
  r.delivery = mv::Delivery::kExact;
  r.audit_sequence = 99;
  r.delivered_sha256 = std::string(32, '\0');
  const std::string key = mv::DownloadKey(r.serial, r.download_id);
  EXPECT_EQ(key.substr(0, 8),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  const std::string value = mv::EncodeDownload(r);
  EXPECT_THAT(mv::DecodeDownload(key, value), IsOkAndHolds(r));
  EXPECT_THAT(mv::DecodeDownload(key.substr(1), value),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(mv::DecodeDownload(key, value + "x"),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_THAT(mv::DecodeDownload(key, value.substr(0, value.size() - 1)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  std::string newer = value;
  newer[0] = 2;
  EXPECT_THAT(mv::DecodeDownload(key, newer),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::_));
  mv::DownloadRecord bad = r;
  bad.delivery = static_cast<mv::Delivery>(4);
  EXPECT_THAT(mv::DecodeDownload(key, mv::EncodeDownload(bad)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  bad = r;
  bad.delivered_sha256 = "short";
  EXPECT_THAT(mv::DecodeDownload(key, mv::EncodeDownload(bad)),
              StatusIs(absl::StatusCode::kDataLoss, ::testing::_));
  EXPECT_EQ(mv::DeliveryName(mv::Delivery::kUnmarked), "unmarked");
  EXPECT_EQ(mv::DeliveryName(mv::Delivery::kFingerprinted), "fingerprinted");
  EXPECT_EQ(mv::DeliveryName(mv::Delivery::kExact), "exact");
}

}  // namespace
}  // namespace mvtesting
