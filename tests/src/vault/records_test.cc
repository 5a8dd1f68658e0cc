#include "vault/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "storage/record_codec.h"
#include "testing/status_matchers.h"
#include "testing/test_bytes.h"

namespace mv {
namespace {

using ::mvtesting::IsOk;
using ::mvtesting::StatusIs;
using ::testing::HasSubstr;

VersionRecord SampleVersion() {
  VersionRecord v;
  v.name = "org/model";
  v.number = 3;
  v.version_id = 0x0102030405060708;
  v.size = 10 * 4096 + 5;
  v.sha256 = std::string(32, '\xee');
  v.format = Format::kSafetensors;
  v.labels = {{"arch", "llama"}, {"empty", ""}, {"k=", std::string("v\0x", 3)}};
  v.created_by = "root";
  v.created_at_unix_ms = -5;  // before the epoch round-trips too
  v.chunk_size = 4096;
  v.chunk_count = 11;
  v.key_version = 1;
  v.wrapped_dek = std::string(72, '\x33');
  return v;
}

void ExpectSame(const VersionRecord& a, const VersionRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.number, b.number);
  EXPECT_EQ(a.version_id, b.version_id);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.labels, b.labels);
  EXPECT_EQ(a.created_by, b.created_by);
  EXPECT_EQ(a.created_at_unix_ms, b.created_at_unix_ms);
  EXPECT_EQ(a.chunk_size, b.chunk_size);
  EXPECT_EQ(a.chunk_count, b.chunk_count);
  EXPECT_EQ(a.key_version, b.key_version);
  EXPECT_EQ(a.wrapped_dek, b.wrapped_dek);
}

TEST(VersionRecord, RoundTrips) {
  const VersionRecord v = SampleVersion();
  absl::StatusOr<VersionRecord> back = DecodeVersion(EncodeVersion(v));
  ASSERT_THAT(back, IsOk());
  ExpectSame(*back, v);
}

TEST(VersionRecord, EncodingStartsWithLayoutVersion2) {
  EXPECT_EQ(EncodeVersion(SampleVersion())[0], '\x02');
}

TEST(VersionRecord, FingerprintSummaryRoundTrips) {
  VersionRecord v = SampleVersion();
  v.fingerprint = {8192, 4096, 3, ""};
  absl::StatusOr<VersionRecord> back = DecodeVersion(EncodeVersion(v));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->fingerprint, v.fingerprint);
  v.fingerprint = {0, 0, 0, kUnmarkedBlob};
  back = DecodeVersion(EncodeVersion(v));
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->fingerprint.unmarked_reason, "stored as a blob");
}

TEST(VersionRecord, AMarkedBlobOrAMarkedVersionWithoutTensorsIsDataLoss) {
  VersionRecord v = SampleVersion();
  v.fingerprint = {8192, 4096, 0, ""};
  EXPECT_THAT(DecodeVersion(EncodeVersion(v)),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"));
  v.fingerprint.tensors = 2;
  v.format = Format::kBlob;
  EXPECT_THAT(DecodeVersion(EncodeVersion(v)),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"));
}

// Layout 1, as written before leak tracing, still decodes: unmarked.
TEST(VersionRecord, Layout1DecodesAsUploadedBeforeLeakTracing) {
  const VersionRecord v = SampleVersion();
  Encoder e;
  e.U8(1)
      .Bytes(v.name)
      .U64(v.number)
      .U64(v.version_id)
      .U64(v.size)
      .Bytes(v.sha256)
      .U8(static_cast<uint8_t>(v.format))
      .U32(static_cast<uint32_t>(v.labels.size()));
  for (const auto& [k, val] : v.labels) e.Bytes(k).Bytes(val);
  e.Bytes(v.created_by)
      .U64(static_cast<uint64_t>(v.created_at_unix_ms))
      .U32(v.chunk_size)
      .U64(v.chunk_count)
      .U32(v.key_version)
      .Bytes(v.wrapped_dek);
  const std::string layout1 = e.Finish();
  absl::StatusOr<VersionRecord> back = DecodeVersion(layout1);
  ASSERT_THAT(back, IsOk());
  ExpectSame(*back, v);
  EXPECT_FALSE(back->fingerprint.markable());
  EXPECT_EQ(back->fingerprint.unmarked_reason, "uploaded before leak tracing");
  // Layout 2 encodes it with the summary appended.
  EXPECT_EQ(EncodeVersion(*back).substr(1, layout1.size() - 1),
            layout1.substr(1));
}

TEST(VersionRecord, EveryTruncationIsDataLoss) {
  const std::string enc = EncodeVersion(SampleVersion());
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(DecodeVersion(std::string_view(enc).substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"))
        << "length " << n;
  }
  EXPECT_THAT(DecodeVersion(enc + "x"),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"));
}

TEST(VersionRecord, EveryByteFlipDecodesOrFailsCleanly) {
  const std::string enc = EncodeVersion(SampleVersion());
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    absl::StatusOr<VersionRecord> r = DecodeVersion(bad);
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == absl::StatusCode::kDataLoss ||
                  r.status().code() == absl::StatusCode::kFailedPrecondition)
          << i << ": " << r.status();
    }
  }
}

TEST(VersionRecord, NewerLayoutIsFailedPrecondition) {
  std::string enc = EncodeVersion(SampleVersion());
  for (char layout : {'\x03', '\x7f', '\xff'}) {
    enc[0] = layout;
    EXPECT_THAT(DecodeVersion(enc),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("newer modelvaultd")));
  }
}

TEST(VersionRecord, LayoutZeroIsCorruptionNotANewerVersion) {
  std::string enc = EncodeVersion(SampleVersion());
  enc[0] = '\0';
  EXPECT_THAT(DecodeVersion(enc),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("corrupt")));
}

TEST(VersionRecord, InconsistentSizeAndChunkCountIsDataLoss) {
  struct Case {
    uint64_t size, chunk_count;
    uint32_t chunk_size;
  };
  for (const Case& c : std::initializer_list<Case>{
           {0, 0, 4096},              // no chunk at all
           {0, 2, 4096},              // an empty artifact has one empty chunk
           {4097, 1, 4096},           // too few chunks
           {4096 * 3, 5, 4096},       // too many chunks
           {10, 1, 0},                // zero chunk size
           {4, (1ull << 62) + 1, 4},  // chunk_count × chunk_size overflows u64
           {2, (1ull << 63) + 1, 2},  // both products overflow u64
           {4096 * 2, 3, 4096},       // an empty chunk after full ones
       }) {
    VersionRecord v = SampleVersion();
    v.size = c.size;
    v.chunk_count = c.chunk_count;
    v.chunk_size = c.chunk_size;
    EXPECT_THAT(DecodeVersion(EncodeVersion(v)),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"))
        << "size " << c.size << " count " << c.chunk_count << " chunk "
        << c.chunk_size;
  }
}

TEST(VersionRecord, ConsistentSizesDecode) {
  struct Case {
    uint64_t size, chunk_count;
  };
  for (const Case& c : std::initializer_list<Case>{{0, 1},
                                                   {1, 1},
                                                   {4095, 1},
                                                   {4096, 1},
                                                   {4097, 2},
                                                   {5 * 4096 + 3, 6}}) {
    VersionRecord v = SampleVersion();
    v.size = c.size;
    v.chunk_count = c.chunk_count;
    EXPECT_THAT(DecodeVersion(EncodeVersion(v)), IsOk()) << c.size;
  }
}

TEST(VersionRecord, BadShaLengthOrFormatIsDataLoss) {
  VersionRecord v = SampleVersion();
  v.sha256 = std::string(31, 'x');
  EXPECT_THAT(DecodeVersion(EncodeVersion(v)),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"));
  for (uint8_t f : {0, 4, 255}) {
    v = SampleVersion();
    v.format = static_cast<Format>(f);
    EXPECT_THAT(DecodeVersion(EncodeVersion(v)),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt version record"))
        << int{f};
  }
}

TEST(VersionRecord, ChunkLengthIsFullButTheLast) {
  VersionRecord v = SampleVersion();  // 10 full chunks and 5 bytes
  EXPECT_EQ(v.ChunkLength(0), 4096u);
  EXPECT_EQ(v.ChunkLength(9), 4096u);
  EXPECT_EQ(v.ChunkLength(10), 5u);
  v.size = 0;
  v.chunk_count = 1;
  EXPECT_EQ(v.ChunkLength(0), 0u);
  v.size = 8192;
  v.chunk_count = 2;
  EXPECT_EQ(v.ChunkLength(1), 4096u);
}

TEST(ArtifactRecord, RoundTripsAndRejectsTruncationAndNewerLayout) {
  ArtifactRecord a{7, {{"prod", 3}, {"staging", 7}}};
  const std::string enc = EncodeArtifact(a);
  absl::StatusOr<ArtifactRecord> back = DecodeArtifact(enc);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->last_number, 7u);
  EXPECT_EQ(back->aliases, a.aliases);
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(
        DecodeArtifact(enc.substr(0, n)),
        StatusIs(absl::StatusCode::kDataLoss, "corrupt artifact record"))
        << n;
  }
  std::string newer = enc;
  newer[0] = 2;
  EXPECT_THAT(
      DecodeArtifact(newer),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(PendingRecord, RoundTripsAndRejectsTruncationAndNewerLayout) {
  const std::string enc = EncodePending({"a/b", 1234567890123});
  absl::StatusOr<PendingRecord> back = DecodePending(enc);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->name, "a/b");
  EXPECT_EQ(back->last_active_unix_ms, 1234567890123);
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(
        DecodePending(enc.substr(0, n)),
        StatusIs(absl::StatusCode::kDataLoss, "corrupt pending upload record"))
        << n;
  }
  std::string newer = enc;
  newer[0] = 9;
  EXPECT_THAT(
      DecodePending(newer),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(TokenRecord, RoundTripsAndRejectsTruncationAndNewerLayout) {
  const std::string enc =
      EncodeToken({"root", "abcdef", 42, {"a", "b"}, 99, 7});
  EXPECT_EQ(enc[0], '\x02') << "tokens are written as layout 2";
  absl::StatusOr<TokenRecord> back = DecodeToken(enc);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->principal, "root");
  EXPECT_EQ(back->accessor, "abcdef");
  EXPECT_EQ(back->created_at_unix_ms, 42);
  EXPECT_EQ(back->policies, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(back->expires_at_unix_ms, 99);
  EXPECT_EQ(back->uses_left, 7);
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(DecodeToken(enc.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt token record"))
        << n;
  }
  EXPECT_THAT(DecodeToken(enc + "x"),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt token record"));
  std::string newer = enc;
  newer[0] = 3;
  EXPECT_THAT(
      DecodeToken(newer),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(TokenRecord, UnlimitedNeverExpiringTokenRoundTrips) {
  absl::StatusOr<TokenRecord> back =
      DecodeToken(EncodeToken({"svc", "acc", 1, {}, 0, -1}));
  ASSERT_THAT(back, IsOk());
  EXPECT_TRUE(back->policies.empty());
  EXPECT_EQ(back->expires_at_unix_ms, 0);
  EXPECT_EQ(back->uses_left, -1);
}

TEST(TokenRecord, Layout1FromBeforeIdentitiesStillDecodes) {
  // As written by the first modelvaultd: layout 1, principal, accessor,
  // created; nothing else.
  const std::string v1 = Encoder()
                             .U8(1)
                             .Bytes("root")
                             .Bytes("0123456789abcdef01234567")
                             .U64(42)
                             .Finish();
  absl::StatusOr<TokenRecord> back = DecodeToken(v1);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->principal, "root");
  EXPECT_EQ(back->accessor, "0123456789abcdef01234567");
  EXPECT_EQ(back->created_at_unix_ms, 42);
  EXPECT_TRUE(back->policies.empty());
  EXPECT_EQ(back->expires_at_unix_ms, 0);
  EXPECT_EQ(back->uses_left, -1) << "old tokens are unlimited";
  // A layout-1 record with layout-2 fields appended is corrupt.
  EXPECT_THAT(DecodeToken(v1 + std::string(20, '\0')),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt token record"));
  EXPECT_THAT(DecodeToken(std::string("\0", 1) + v1.substr(1)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("layout 0")));
}

TEST(TokenRecord, ImpossibleUsesOrExpiryAreDataLoss) {
  EXPECT_THAT(DecodeToken(EncodeToken({"p", "a", 1, {}, 0, -2})),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt token record"));
  EXPECT_THAT(DecodeToken(EncodeToken({"p", "a", 1, {}, -5, 3})),
              StatusIs(absl::StatusCode::kDataLoss, "corrupt token record"));
}

TEST(PrincipalRecord, RoundTripsAndRejectsTruncationAndNewerLayout) {
  const PrincipalRecord p{PrincipalKind::kService,
                          {"readers", "writers"},
                          "spiffe://acme/cluster",
                          -3};
  const std::string enc = EncodePrincipal(p);
  EXPECT_EQ(enc[0], '\x01');
  absl::StatusOr<PrincipalRecord> back = DecodePrincipal(enc);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->kind, PrincipalKind::kService);
  EXPECT_EQ(back->policies, p.policies);
  EXPECT_EQ(back->cert_identity, p.cert_identity);
  EXPECT_EQ(back->created_at_unix_ms, -3);
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(
        DecodePrincipal(enc.substr(0, n)),
        StatusIs(absl::StatusCode::kDataLoss, "corrupt principal record"))
        << n;
  }
  EXPECT_THAT(DecodePrincipal(enc + "x"), StatusIs(absl::StatusCode::kDataLoss,
                                                   "corrupt principal record"));
  std::string newer = enc;
  newer[0] = 2;
  EXPECT_THAT(
      DecodePrincipal(newer),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(PrincipalRecord, UnknownKindIsDataLoss) {
  for (char kind : {'\0', '\x03', '\xff'}) {
    std::string enc = EncodePrincipal({PrincipalKind::kUser, {}, "", 0});
    enc[1] = kind;
    EXPECT_THAT(DecodePrincipal(enc), StatusIs(absl::StatusCode::kDataLoss,
                                               "corrupt principal record"))
        << int(kind);
  }
}

TEST(PrincipalRecord, AHugePolicyCountFailsCleanly) {
  const std::string enc =
      Encoder().U8(1).U8(1).U32(0xffffffff).Bytes("p").Finish();
  EXPECT_THAT(DecodePrincipal(enc), StatusIs(absl::StatusCode::kDataLoss,
                                             "corrupt principal record"));
}

TEST(BudgetRecord, RoundTripsAndRejectsTruncationAndNewerLayout) {
  const std::string enc = EncodeBudget({20, uint64_t{1} << 40});
  absl::StatusOr<BudgetRecord> back = DecodeBudget(enc);
  ASSERT_THAT(back, IsOk());
  EXPECT_EQ(back->downloads, 20u);
  EXPECT_EQ(back->bytes, uint64_t{1} << 40);
  for (size_t n = 0; n < enc.size(); ++n) {
    ASSERT_THAT(DecodeBudget(enc.substr(0, n)),
                StatusIs(absl::StatusCode::kDataLoss, "corrupt budget record"))
        << n;
  }
  std::string newer = enc;
  newer[0] = 2;
  EXPECT_THAT(
      DecodeBudget(newer),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer")));
}

TEST(RecordKeys, BudgetKeysGroupByPrincipalPolicyRuleThenDay) {
  EXPECT_EQ(BudgetKey("bob", "readers", 2, 0x01020304),
            std::string("bob\0readers\0\0\0\0\x02\x01\x02\x03\x04", 20));
  EXPECT_LT(BudgetKey("bob", "r", 0, 9), BudgetKey("bob", "r", 0, 10));
  EXPECT_LT(BudgetKey("bob", "r", 0, 0xffffffff), BudgetKey("bob", "r", 1, 0));
  EXPECT_LT(BudgetKey("bo", "zz", 9, 9), BudgetKey("bob", "a", 0, 0))
      << "the NUL after the principal keeps principals apart";
}

TEST(RecordKeys, AreBigEndianAndNulSeparated) {
  EXPECT_EQ(mvtesting::Hex(ChunkKey(0x0102, 0x0304)),
            "0000000000000102"
            "0000000000000304");
  EXPECT_EQ(mvtesting::Hex(IdKey(1)), "0000000000000001");
  EXPECT_EQ(VersionKeyPrefix("a/b"), std::string("a/b\0", 4));
  EXPECT_EQ(VersionKey("a/b", 258),
            std::string("a/b\0\0\0\0\0\0\0\x01\x02", 12));
  EXPECT_LT(VersionKey("m", 2), VersionKey("m", 10))
      << "byte order is numeric order";
  EXPECT_LT(ChunkKey(1, 255), ChunkKey(1, 256));
  EXPECT_EQ(ChunkKey(9, 0).substr(0, 8), IdKey(9));
}

TEST(FormatName, NamesEveryFormat) {
  EXPECT_EQ(FormatName(Format::kBlob), "blob");
  EXPECT_EQ(FormatName(Format::kSafetensors), "safetensors");
  EXPECT_EQ(FormatName(Format::kGguf), "gguf");
}

}  // namespace
}  // namespace mv
