// Every GGUF defect the parser must refuse, each with the message naming it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "formats/gguf.h"
#include "src/formats/format_builders.h"
#include "testing/status_matchers.h"

namespace mv {
namespace {

using ::mvtesting::GgufBuilder;
using ::mvtesting::GgufString;
using ::mvtesting::IsOk;
using ::mvtesting::Le32;
using ::mvtesting::Le64;
using ::mvtesting::PatternBytes;
using ::mvtesting::StatusIs;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
constexpr uint32_t kF32 = 0, kQ4_0 = 2;

absl::Status Parse(const GgufBuilder& b) {
  return ParseGguf(b.Build()).status();
}

TEST(GgufRejects, BadMagicAndVersions) {
  EXPECT_THAT(Parse(GgufBuilder().Magic("GGUG")),
              StatusIs(kInvalid, "gguf: magic is not \"GGUF\""));
  EXPECT_THAT(Parse(GgufBuilder().Version(1)),
              StatusIs(kInvalid, HasSubstr("version 1 (32-bit counts) is not "
                                           "supported")));
  EXPECT_THAT(Parse(GgufBuilder().Version(4)),
              StatusIs(kInvalid, "gguf: unsupported version 4"));
  EXPECT_THAT(Parse(GgufBuilder().Version(0x03000000)),
              StatusIs(kInvalid, HasSubstr("looks big-endian")));
}

TEST(GgufRejects, AbsurdTensorCountBeforeAllocating) {
  EXPECT_THAT(ParseGguf(mvtesting::GgufFixedHeader(uint64_t{1} << 62, 0)),
              StatusIs(kInvalid,
                       "gguf: tensor_count 4611686018427387904 "
                       "cannot fit in the 0 header bytes left"));
  EXPECT_THAT(Parse(GgufBuilder().TensorCount(UINT64_MAX)),
              StatusIs(kInvalid, HasSubstr("tensor_count 18446744073709551615 "
                                           "cannot fit")));
  // 2 infos need at least 48 bytes; the file has 40 after the counts.
  std::string file = mvtesting::GgufFixedHeader(2, 0) + std::string(40, 0);
  EXPECT_THAT(ParseGguf(file),
              StatusIs(kInvalid, HasSubstr("tensor_count 2 cannot fit in the "
                                           "40 header bytes left")));
}

TEST(GgufRejects, AbsurdKvCountBeforeAllocating) {
  EXPECT_THAT(Parse(GgufBuilder().KvCount(UINT64_MAX)),
              StatusIs(kInvalid, HasSubstr("metadata_kv_count "
                                           "18446744073709551615 exceeds the "
                                           "limit of 10000")));
  // Within the limit but not within the file.
  EXPECT_THAT(Parse(GgufBuilder().KvCount(10'000)),
              StatusIs(kInvalid,
                       HasSubstr("metadata_kv_count 10000 cannot fit")));
  std::string file =
      mvtesting::GgufFixedHeader(1, 1) + std::string(30, 0);  // 13 + 24 > 30
  EXPECT_THAT(
      ParseGguf(file),
      StatusIs(kInvalid, HasSubstr("together cannot fit in the 30 header "
                                   "bytes left")));
}

TEST(GgufRejects, UnknownGgmlType) {
  for (uint32_t type : {4u, 31u, 40u, 0xffffffffu}) {
    EXPECT_THAT(Parse(GgufBuilder().Tensor("t", type, {32}, PatternBytes(128))),
                StatusIs(kInvalid, "gguf: tensor 't': unknown ggml type " +
                                       std::to_string(type)));
  }
}

TEST(GgufRejects, MoreThanFourDims) {
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {1, 1, 1, 1, 1}, "abcd")),
              StatusIs(kInvalid, "gguf: tensor 't': n_dims 5 exceeds 4"));
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {1, 1, 1, 1}, "abcd")),
              IsOk());
}

TEST(GgufRejects, ZeroAndOverflowingDims) {
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {4, 0}, "")),
              StatusIs(kInvalid, "gguf: tensor 't': dimension 1 is zero"));
  EXPECT_THAT(
      Parse(GgufBuilder().Tensor("t", kF32, {1ull << 32, 1ull << 32}, "")),
      StatusIs(kInvalid, HasSubstr("dimension 1 (4294967296) overflows the "
                                   "element count")));
  // 2^63 elements exceed ggml's int64_t counts.
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {1ull << 63}, "")),
              StatusIs(kInvalid, HasSubstr("overflows the element count")));
  // 2^62 F32 elements are 2^64 bytes.
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {1ull << 62}, "")),
              StatusIs(kInvalid, HasSubstr("byte size overflows 64 bits")));
}

TEST(GgufRejects, RowsThatAreNotWholeBlocks) {
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kQ4_0, {33, 32}, "")),
              StatusIs(kInvalid,
                       "gguf: tensor 't': row of 33 elements is not "
                       "a multiple of the Q4_0 block size 32"));
}

TEST(GgufRejects, MisalignedOffset) {
  EXPECT_THAT(Parse(GgufBuilder().Tensor("t", kF32, {4}, PatternBytes(16), 16)),
              StatusIs(kInvalid,
                       "gguf: tensor 't': data offset 16 is not a "
                       "multiple of the alignment 32"));
  EXPECT_THAT(Parse(GgufBuilder().Alignment(8).Tensor("t", kF32, {4},
                                                      PatternBytes(16), 16)),
              IsOk());
}

TEST(GgufRejects, BadAlignmentValues) {
  EXPECT_THAT(Parse(GgufBuilder().KvU32("general.alignment", 24)),
              StatusIs(kInvalid,
                       "gguf: general.alignment 24 is not a power "
                       "of two"));
  EXPECT_THAT(Parse(GgufBuilder().KvU32("general.alignment", 0)),
              StatusIs(kInvalid, HasSubstr("general.alignment 0 is not")));
  EXPECT_THAT(Parse(GgufBuilder().KvString("general.alignment", "32")),
              StatusIs(kInvalid,
                       "gguf: general.alignment has type string, "
                       "not uint32"));
}

TEST(GgufRejects, OverlappingTensors) {
  GgufBuilder b;
  b.Tensor("a", kF32, {16}, PatternBytes(64), 0)
      .Tensor("b", kF32, {4}, PatternBytes(16), 32);
  EXPECT_THAT(Parse(b), StatusIs(kInvalid, HasSubstr("tensor 'b': data at "
                                                     "file offset")));
  EXPECT_THAT(Parse(b), StatusIs(kInvalid, HasSubstr("overlaps tensor 'a'")));
}

TEST(GgufRejects, DuplicateTensorNamesAndKeys) {
  EXPECT_THAT(Parse(GgufBuilder()
                        .Tensor("t", kF32, {1}, "abcd")
                        .Tensor("t", kF32, {1}, "efgh")),
              StatusIs(kInvalid, "gguf: tensor 't': duplicate tensor name"));
  EXPECT_THAT(Parse(GgufBuilder().KvU32("k", 1).KvU32("k", 2)),
              StatusIs(kInvalid, "gguf: duplicate metadata key 'k'"));
}

TEST(GgufRejects, TensorDataPastTheEndOfTheFile) {
  std::string file =
      GgufBuilder().Tensor("t", kF32, {8}, PatternBytes(32)).Build();
  file.resize(file.size() - 1);
  EXPECT_THAT(ParseGguf(file),
              StatusIs(kInvalid, HasSubstr("tensor 't': data at offset 0 (32 "
                                           "bytes) runs past the end of the "
                                           "file (the data section holds 31")));
  EXPECT_THAT(
      ParseGguf(GgufBuilder().Tensor("t", kF32, {1}, "", 1ull << 63).Build()),
      StatusIs(kInvalid, HasSubstr("runs past the end of the file")));
}

TEST(GgufRejects, EveryTruncationOfTheHeader) {
  GgufBuilder b;
  b.KvString("general.name", "m")
      .KvRaw("arr", mvtesting::kGgufArray,
             Le32(mvtesting::kGgufU32) + Le64(2) + Le64(0))
      .Tensor("a", kF32, {2, 2}, PatternBytes(16));
  std::string file = b.Build();
  absl::StatusOr<GgufLayout> whole = ParseGguf(file);
  ASSERT_THAT(whole, IsOk());
  for (size_t n = 0; n < file.size(); ++n) {
    absl::Status s = ParseGguf(file.substr(0, n)).status();
    EXPECT_THAT(s, StatusIs(kInvalid, StartsWith("gguf: "))) << n;
    // Counts are bounded by the bytes left before anything else is read.
    if (n < whole->header_size) {
      EXPECT_THAT(s, StatusIs(kInvalid, AnyOf(HasSubstr("truncated"),
                                              HasSubstr("cannot fit"))))
          << n;
    }
  }
}

TEST(GgufRejects, BadValueTypesAndArrays) {
  EXPECT_THAT(
      Parse(GgufBuilder().KvRaw("k", 13, "")),
      StatusIs(kInvalid, "gguf: value of 'k' has unknown value type 13"));
  EXPECT_THAT(Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufArray,
                                        Le32(99) + Le64(0))),
              StatusIs(kInvalid, HasSubstr("unknown array element type 99")));
  EXPECT_THAT(
      Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufArray,
                                Le32(mvtesting::kGgufU64) + Le64(1ull << 61))),
      StatusIs(kInvalid, HasSubstr("value of 'k': array of 2305843009213693952 "
                                   "uint64 cannot fit in the")));
  EXPECT_THAT(Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufBool, "\x02")),
              StatusIs(kInvalid, HasSubstr("bool value 2 is neither 0 nor 1")));
  // Four levels of arrays: one too many.
  std::string deep = Le32(mvtesting::kGgufU8) + Le64(0);
  for (int i = 0; i < 3; ++i)
    deep = Le32(mvtesting::kGgufArray) + Le64(1) + deep;
  EXPECT_THAT(Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufArray, deep)),
              StatusIs(kInvalid, HasSubstr("arrays nest more than 3 deep")));
  std::string three = Le32(mvtesting::kGgufU8) + Le64(0);
  for (int i = 0; i < 2; ++i)
    three = Le32(mvtesting::kGgufArray) + Le64(1) + three;
  EXPECT_THAT(Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufArray, three)),
              IsOk());
}

TEST(GgufRejects, OverlongStrings) {
  EXPECT_THAT(
      Parse(GgufBuilder().KvRaw("k", mvtesting::kGgufString,
                                Le64(1ull << 40) + "abc")),
      StatusIs(kInvalid, HasSubstr("truncated: value of 'k' at offset")));
  EXPECT_THAT(Parse(GgufBuilder().KvU32(std::string(65536, 'k'), 1)),
              StatusIs(kInvalid,
                       "gguf: key of KV 0 of 65536 bytes exceeds "
                       "the limit of 65535"));
  EXPECT_THAT(
      Parse(GgufBuilder().Tensor(std::string(65, 'n'), kF32, {1}, "abcd")),
      StatusIs(kInvalid,
               "gguf: name of tensor 0 of 65 bytes exceeds "
               "the limit of 64"));
  EXPECT_THAT(
      Parse(GgufBuilder().Tensor(std::string(64, 'n'), kF32, {1}, "abcd")),
      IsOk());
}

TEST(GgufRejects, HeadersOverTheSizeLimit) {
  // A string claimed to run past 256 MiB in a file that is big enough.
  std::string prefix = mvtesting::GgufFixedHeader(0, 1) + GgufString("k") +
                       Le32(mvtesting::kGgufString) + Le64(kGgufMaxHeaderBytes);
  EXPECT_THAT(ParseGgufPrefix(prefix, uint64_t{1} << 40),
              StatusIs(kInvalid, HasSubstr("header exceeds the limit of "
                                           "268435456 bytes")));
}

}  // namespace
}  // namespace mv
