#include "audit/audit_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

AuditRecord Sample() {
  AuditRecord r;
  r.sequence = 42;
  r.time_unix_ms = -7;  // before the epoch round-trips too
  r.principal = "alice";
  r.token_accessor = "0123456789abcdef01234567";
  r.peer = "ipv6:[::1]:5000";
  r.tls_identity = "spiffe://acme/trainer";
  r.method = "/modelvault.v1.ArtifactService/Download";
  r.resource = "org/model@3";
  r.action = "read";
  r.decision = AuditDecision::kDenied;
  r.status_code = 7;
  r.bytes = 0xfffffffffffffffe;
  r.request_id = "req-1";
  r.download_id = 0x0102030405060708;
  r.reason = std::string("rule \"x\" ü \0 end", 17);
  return r;
}

TEST(AuditRecord, RoundTrips) {
  const AuditRecord r = Sample();
  EXPECT_THAT(DecodeAuditRecord(EncodeAuditRecord(r)),
              mvtesting::IsOkAndHolds(r));
}

TEST(AuditRecord, EmptyRecordRoundTrips) {
  AuditRecord r;
  EXPECT_THAT(DecodeAuditRecord(EncodeAuditRecord(r)),
              mvtesting::IsOkAndHolds(r));
}

TEST(AuditRecord, EncodingStartsWithLayoutVersionAndBigEndianSequence) {
  const std::string e = EncodeAuditRecord(Sample());
  ASSERT_GE(e.size(), 9u);
  EXPECT_EQ(e[0], kAuditLayoutVersion);
  EXPECT_EQ(e.substr(1, 8), std::string("\0\0\0\0\0\0\0\x2a", 8));
}

TEST(AuditRecord, EveryFieldChangesTheEncoding) {
  const std::string base = EncodeAuditRecord(Sample());
  std::vector<void (*)(AuditRecord&)> edits = {
      [](AuditRecord& r) { r.sequence++; },
      [](AuditRecord& r) { r.time_unix_ms++; },
      [](AuditRecord& r) { r.principal += "x"; },
      [](AuditRecord& r) { r.token_accessor += "x"; },
      [](AuditRecord& r) { r.peer += "x"; },
      [](AuditRecord& r) { r.tls_identity += "x"; },
      [](AuditRecord& r) { r.method += "x"; },
      [](AuditRecord& r) { r.resource += "x"; },
      [](AuditRecord& r) { r.action += "x"; },
      [](AuditRecord& r) { r.decision = AuditDecision::kAllowed; },
      [](AuditRecord& r) { r.status_code = 0; },
      [](AuditRecord& r) { r.bytes++; },
      [](AuditRecord& r) { r.request_id += "x"; },
      [](AuditRecord& r) { r.download_id = 0; },
      [](AuditRecord& r) { r.reason += "x"; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    AuditRecord r = Sample();
    edits[i](r);
    EXPECT_NE(EncodeAuditRecord(r), base) << "edit " << i;
  }
}

TEST(AuditRecord, FieldBoundariesAreUnambiguous) {
  AuditRecord a, b;
  a.principal = "ab";
  b.principal = "a";
  b.token_accessor = "b";
  EXPECT_NE(EncodeAuditRecord(a), EncodeAuditRecord(b));
}

struct BadInput {
  const char* name;
  std::string bytes;
  absl::StatusCode code;
  const char* message;
};

std::vector<BadInput> BadInputs() {
  const std::string good = EncodeAuditRecord(Sample());
  std::string bad_decision = good;
  bad_decision[17] = 9;
  std::string zero_decision = good;
  zero_decision[17] = 0;
  std::string bad_status = good;
  bad_status[21] = 17;
  AuditRecord long_field;
  long_field.principal = std::string(kMaxFieldSize + 1, 'a');
  AuditRecord bad_utf8;
  bad_utf8.peer = "\xc0\xaf";  // overlong '/'
  AuditRecord surrogate;
  surrogate.method = "\xed\xa0\x80";
  std::string huge_length = EncodeAuditRecord(AuditRecord{});
  huge_length.replace(38, 4, "\xff\xff\xff\xff");
  return {
      {"empty", "", absl::StatusCode::kDataLoss, "empty"},
      {"layout 0", std::string("\0", 1) + good.substr(1),
       absl::StatusCode::kDataLoss, "layout 0"},
      // Layout 2 exists now (delivery fields); 3 is the first unknown one.
      {"newer layout", "\x03" + good.substr(1),
       absl::StatusCode::kFailedPrecondition, "newer"},
      {"truncated in sequence", good.substr(0, 5), absl::StatusCode::kDataLoss,
       "sequence"},
      {"truncated in a string", good.substr(0, good.size() - 3),
       absl::StatusCode::kDataLoss, "truncated in reason"},
      {"trailing byte", good + "x", absl::StatusCode::kDataLoss, "trailing"},
      {"unknown decision", bad_decision, absl::StatusCode::kDataLoss,
       "decision"},
      {"zero decision", zero_decision, absl::StatusCode::kDataLoss, "decision"},
      {"status code out of range", bad_status, absl::StatusCode::kDataLoss,
       "status_code"},
      {"field too long", EncodeAuditRecord(long_field),
       absl::StatusCode::kDataLoss, "principal is longer"},
      {"overlong UTF-8", EncodeAuditRecord(bad_utf8),
       absl::StatusCode::kDataLoss, "peer is not valid UTF-8"},
      {"surrogate", EncodeAuditRecord(surrogate), absl::StatusCode::kDataLoss,
       "method"},
      {"huge length", huge_length, absl::StatusCode::kDataLoss, "principal"},
  };
}

TEST(AuditRecord, DecoderRejectsMalformedInput) {
  for (const BadInput& bad : BadInputs()) {
    EXPECT_THAT(DecodeAuditRecord(bad.bytes),
                StatusIs(bad.code, HasSubstr(bad.message)))
        << bad.name;
  }
}

TEST(AuditRecord, IsCanonicalNamesTheBadField) {
  AuditRecord r = Sample();
  EXPECT_THAT(IsCanonical(r), IsOk());
  r.tls_identity = "\xff";
  EXPECT_THAT(IsCanonical(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("tls_identity")));
}

TEST(AuditRecord, SanitizeMakesAnyRecordCanonicalAndIsIdempotent) {
  AuditRecord r = Sample();
  r.peer =
      "a\xff"
      "b\xc3";
  r.method = std::string(kMaxFieldSize + 10, 'm');
  r.resource = std::string(kMaxFieldSize - 1, 'r') +
               "\xc3\xbc";  // 2-byte char straddles limit
  r.status_code = 99;
  SanitizeAuditRecord(&r);
  EXPECT_THAT(IsCanonical(r), IsOk());
  EXPECT_EQ(r.peer,
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  EXPECT_EQ(r.method.size(), kMaxFieldSize);
  EXPECT_EQ(r.resource, std::string(kMaxFieldSize - 1, 'r'));
  AuditRecord again = r;
  SanitizeAuditRecord(&again);
  EXPECT_EQ(again, r);
  EXPECT_THAT(DecodeAuditRecord(EncodeAuditRecord(r)),
              mvtesting::IsOkAndHolds(r));
}

// ---- layout 2: the delivery fields of download records ----

AuditRecord Delivered() {
  AuditRecord r = Sample();
  r.delivery = "fingerprinted";
  r.delivered_sha256 = std::string(64, 'a');
  return r;
}

TEST(AuditRecordLayout2, RoundTripsWithEitherOrBothDeliveryFields) {
  AuditRecord both = Delivered();
  AuditRecord only_delivery = Sample();
  only_delivery.delivery = "exact";
  AuditRecord only_digest = Sample();
  only_digest.delivered_sha256 =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  for (const AuditRecord& r : {both, only_delivery, only_digest}) {
    ASSERT_THAT(IsCanonical(r), IsOk());
    const std::string e = EncodeAuditRecord(r);
    EXPECT_EQ(e[0], kAuditDeliveryLayoutVersion);
    EXPECT_EQ(AuditLayoutOf(r), kAuditDeliveryLayoutVersion);
    EXPECT_THAT(DecodeAuditRecord(e), mvtesting::IsOkAndHolds(r));
  }
}

TEST(AuditRecordLayout2, ARecordWithoutDeliveryFieldsIsStillLayout1) {
  const std::string e = EncodeAuditRecord(Sample());
  EXPECT_EQ(e[0], kAuditLayoutVersion);
  EXPECT_EQ(AuditLayoutOf(Sample()), kAuditLayoutVersion);
  // Layout 2 is layout 1 plus two strings.
  const std::string e2 = EncodeAuditRecord(Delivered());
  EXPECT_EQ(e2.substr(1, e.size() - 1), e.substr(1));
  EXPECT_EQ(e2.size(), e.size() + 4 + 13 + 4 + 64);
}

TEST(AuditRecordLayout2, Layout2WithBothFieldsEmptyIsNotCanonical) {
  // The layout-1 body with two empty strings appended, labelled layout 2:
  // the same record as its layout-1 encoding, so it must be refused.
  std::string e = EncodeAuditRecord(Sample());
  e[0] = kAuditDeliveryLayoutVersion;
  e.append(std::string(8, '\0'));
  EXPECT_THAT(DecodeAuditRecord(e),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("layout 2 has no delivery")));
}

TEST(AuditRecordLayout2, DecoderRejectsMalformedDeliveryFields) {
  const std::string good = EncodeAuditRecord(Delivered());
  EXPECT_THAT(
      DecodeAuditRecord(good.substr(0, good.size() - 1)),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("delivered_sha256")));
  EXPECT_THAT(DecodeAuditRecord(good + "x"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("trailing")));
  // A layout-1 record relabelled 2 is truncated in delivery.
  std::string relabelled = EncodeAuditRecord(Sample());
  relabelled[0] = kAuditDeliveryLayoutVersion;
  EXPECT_THAT(DecodeAuditRecord(relabelled),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("truncated in delivery")));
  struct Case {
    std::string delivery, digest;
    const char* field;
  };
  for (const Case& c :
       std::vector<Case>{{"marked", "", "delivery"},
                         {"Exact", "", "delivery"},
                         {"", std::string(64, 'A'), "delivered_sha256"},
                         {"", std::string(63, 'a'), "delivered_sha256"},
                         {"exact", std::string(64, 'g'), "delivered_sha256"}}) {
    AuditRecord r = Sample();
    r.delivery = c.delivery;
    r.delivered_sha256 = c.digest;
    EXPECT_THAT(IsCanonical(r), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr(c.field)))
        << c.delivery << " " << c.digest;
    EXPECT_THAT(DecodeAuditRecord(EncodeAuditRecord(r)),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(c.field)))
        << c.delivery << " " << c.digest;
    AuditRecord sanitized = r;
    SanitizeAuditRecord(&sanitized);
    EXPECT_THAT(IsCanonical(sanitized), IsOk());
  }
}

TEST(AuditRecordLayout2, SanitizeKeepsWellFormedDeliveryFields) {
  AuditRecord r = Delivered();
  SanitizeAuditRecord(&r);
  EXPECT_EQ(r, Delivered());
}

TEST(AuditRecordLayout2, DeliveryFieldsChangeTheEncoding) {
  const std::string base = EncodeAuditRecord(Delivered());
  AuditRecord r = Delivered();
  r.delivery = "unmarked";
  EXPECT_NE(EncodeAuditRecord(r), base);
  r = Delivered();
  r.delivered_sha256[63] = 'b';
  EXPECT_NE(EncodeAuditRecord(r), base);
  // Field boundaries: a digest cannot migrate into delivery.
  AuditRecord a = Sample(), b = Sample();
  a.delivery = "exact";
  b.delivered_sha256 = std::string(64, 'e');
  EXPECT_NE(EncodeAuditRecord(a), EncodeAuditRecord(b));
}

TEST(AuditRecord, DecisionNamesRoundTrip) {
  for (AuditDecision d :
       {AuditDecision::kAllowed, AuditDecision::kDenied,
        AuditDecision::kUnauthenticated, AuditDecision::kFailed}) {
    EXPECT_EQ(ParseDecision(DecisionName(d)), d);
  }
  EXPECT_EQ(ParseDecision("Allowed"), std::nullopt);
}

TEST(ChainHash, IsBlake2b256OfPrevThenRecord) {
  // BLAKE2b-256 of the empty input (RFC 7693 parameters, 32-byte digest).
  const std::string empty = ChainHash("", "");
  EXPECT_EQ(empty.size(), kAuditHashSize);
  EXPECT_EQ(ChainHash("ab", "c"),
            ChainHash("a", "bc"));  // a plain concatenation
  EXPECT_EQ(GenesisHash(), std::string(32, '\0'));
  const std::string a = EncodeAuditRecord(Sample());
  const std::string h1 = ChainHash(GenesisHash(), a);
  EXPECT_NE(h1, ChainHash(std::string(31, '\0') + "\x01", a));
  EXPECT_EQ(h1, ChainHash(GenesisHash(), a));
}

TEST(ChainHash, KnownVector) {
  // b2sum -l 256 of an empty file.
  const std::string h = ChainHash("", "");
  static const char kHex[] =
      "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
  std::string hex;
  for (unsigned char c : h) {
    static const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  EXPECT_EQ(hex, kHex);
}

TEST(ChainHash, MatchesAnIndependentImplementation) {
  // Python: blake2b(b"\0" * 32 + canonical, digest_size=32), with the
  // canonical bytes packed by hand from the layout in audit_record.h.
  AuditRecord r;
  r.sequence = 1;
  r.time_unix_ms = 1700000000000;
  r.principal = "alice";
  r.token_accessor = "acc";
  r.peer = "ipv4:1.2.3.4:5";
  r.method = "m";
  r.resource = "a@1";
  r.action = "read";
  r.decision = AuditDecision::kAllowed;
  r.bytes = 5;
  r.request_id = "r";
  const std::string h = ChainHash(GenesisHash(), EncodeAuditRecord(r));
  std::string hex;
  for (unsigned char c : h) {
    static const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  EXPECT_EQ(hex,
            "549bb22b839ee4ebce04766ea336682f80d07170f75b54ad4702e905acf3adfe");
}

}  // namespace
}  // namespace mv
